"""pgTAP files assert errors by SQLSTATE and reason key (tests.error_of), never by pgTAP's throws_* family,
which compares only the SQLSTATE and the message and so never checks the key clients branch on."""

from __future__ import annotations

import re
from pathlib import Path

from qms.migrate import SQL_DIR

PGTAP_DIR = SQL_DIR / "tests"
THROWS = re.compile(r"\bthrows_(ok|like|ilike|matching|imatching)\s*\(", re.IGNORECASE)
# An expected error of tests.error_of: 'PT<status> <REASON_KEY>' (or '42501 ' for a missing privilege).
EXPECTED_PT = re.compile(r"'(PT\d{3}) ?([^']*)'")
KEY = re.compile(r"[A-Z][A-Z0-9_]+")


def _pgtap_files() -> list[Path]:
    return sorted(PGTAP_DIR.glob("*.sql"))


def test_no_pgtap_file_uses_throws() -> None:
    found = [
        f"{path.name}:{n}"
        for path in _pgtap_files()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if THROWS.search(line)
    ]
    assert not found, "use is(tests.error_of(...), 'PTnnn REASON_KEY', ...) instead of throws_*: " + ", ".join(found)


def test_every_expected_business_error_names_its_reason_key() -> None:
    bad = [
        f"{path.name}: '{state} {key}'"
        for path in _pgtap_files()
        for state, key in EXPECTED_PT.findall(path.read_text())
        if not KEY.fullmatch(key)
    ]
    assert not bad, "an expected PTnnn error without its reason key: " + ", ".join(bad)


def test_the_checks_see_the_engine_files() -> None:
    text = (PGTAP_DIR / "engine_call_next.sql").read_text()
    assert ("PT409", "COUNTER_BUSY") in EXPECTED_PT.findall(text)
    assert THROWS.search("select throws_ok('select 1', 'PT409', null, 'x')")
