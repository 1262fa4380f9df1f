"""Committed docs match the code: the generated api reference and permissions matrix, and the error codes."""

from __future__ import annotations

import ast
import difflib
import re
from pathlib import Path

import psycopg
import pytest

from qms import docs
from qms.migrate import ROOT, SQL_DIR

ERROR_CODES = ROOT / "docs" / "error_codes.md"
GATEWAY_DIR = ROOT / "gateway"
REGENERATE = "run `uv run python -m qms.docs` and commit the result"


# -- generated docs ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [docs.API_DOC, docs.PERMISSIONS_DOC])
def test_generated_doc_is_up_to_date(db_url: str, name: str) -> None:
    expected = docs.render(db_url)[name]
    committed_path = docs.DOCS_DIR / name
    assert committed_path.exists(), f"docs/{name} is missing: {REGENERATE}"
    committed = committed_path.read_text()
    if committed != expected:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                f"docs/{name} (committed)",
                f"docs/{name} (generated)",
                n=1,
            )
        )
        pytest.fail(f"docs/{name} is out of date: {REGENERATE}\n{diff[:6000]}")


def test_api_doc_lists_every_function_with_its_roles(db_url: str) -> None:
    """The generator itself reads the catalog: a new function and a new grant show up."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "create function api.zz_probe(p_answer int default 42) returns int language sql stable as $$ select 1 $$"
        )
        conn.execute("comment on function api.zz_probe(int) is 'A probe for the docs generator.'")
        conn.execute("revoke all on function api.zz_probe(int) from public")
        conn.execute("grant execute on function api.zz_probe(int) to qms_analyst")
    rendered = docs.render(db_url)
    api = rendered[docs.API_DOC]
    section = api[api.index("## api.zz_probe") :]
    assert "api.zz_probe(p_answer integer DEFAULT 42)" in section
    assert "returns integer" in section
    assert "**Volatility:** stable" in section
    assert "**Executable by:** `qms_analyst`\n" in section
    assert "A probe for the docs generator." in section
    row = next(ln for ln in rendered[docs.PERMISSIONS_DOC].splitlines() if ln.startswith("| `api.zz_probe("))
    assert row.endswith("|  |  |  |  |  |  | ✓ |")


# -- error codes -------------------------------------------------------------------------------------
KEY = r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*"
# Raised keys: the second argument of qms.fail(<status>, '<KEY>', …) and `detail = '<KEY>'`.
_FAIL = re.compile(rf"qms\.fail\(\s*\d+\s*,\s*'({KEY})'", re.IGNORECASE)
_DETAIL = re.compile(rf"\bdetail\s*=\s*'({KEY})'", re.IGNORECASE)
_SQL_LITERAL = re.compile(rf"'({KEY})'")
_LINE_COMMENT = re.compile(r"--[^\n]*")
# Upper-case string constants in the gateway that are not error codes: SQL and HTTP words, environment variables.
_GATEWAY_NOT_CODES = {"NULL", "POST", "HEAD", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROMETHEUS_MULTIPROC_DIR"}


def _sql_sources() -> list[Path]:
    """Code that runs: migrations, functions and policies (pgTAP tests only assert codes)."""
    return [p for sub in ("schema", "functions", "policies") for p in sorted((SQL_DIR / sub).rglob("*.sql"))]


def raised_in_sql() -> dict[str, str]:
    """Reason key → first place it is raised (path:line)."""
    found: dict[str, str] = {}
    for path in _sql_sources():
        text = _LINE_COMMENT.sub("", path.read_text())
        for pattern in (_FAIL, _DETAIL):
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                found.setdefault(m.group(1), f"{path.relative_to(ROOT)}:{line}")
    return found


def literals_in_sql() -> set[str]:
    """Every upper-case string literal of the SQL code (a key may be raised through a variable)."""
    return {
        m.group(1) for path in _sql_sources() for m in _SQL_LITERAL.finditer(_LINE_COMMENT.sub("", path.read_text()))
    }


def raised_in_gateway() -> dict[str, str]:
    """Upper-case string constants of gateway/**.py: ApiError(status, "KEY", …), code="KEY", KEY tables."""
    found: dict[str, str] = {}
    for path in sorted(GATEWAY_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and re.fullmatch(r"[A-Z]+(?:_[A-Z]+)*", node.value)
                and not node.value.startswith("QMS_")
                and node.value not in _GATEWAY_NOT_CODES
                and len(node.value) > 3
            ):
                found.setdefault(node.value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def documented_codes() -> dict[str, str]:
    """Reason key → section, from the first column of the tables under each '## <area>' heading."""
    codes: dict[str, str] = {}
    section = ""
    for line in ERROR_CODES.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
            continue
        if section == "The error model" or not line.startswith("|"):
            continue
        first = line.strip("|").split("|")[0].strip().strip("`")
        if re.fullmatch(KEY, first) and first != "Code":
            codes.setdefault(first, section)
    return codes


def test_error_codes_doc_has_the_areas() -> None:
    text = ERROR_CODES.read_text()
    for section in ("## Common", "## Admin", "## Tickets", "## Events", "## Gateway"):
        assert section in text
    assert "| Code | SQLSTATE / HTTP | When | Fix |" in text


def test_documented_codes_parser_reads_the_common_section() -> None:
    codes = documented_codes()
    assert codes.get("TENANT_REQUIRED") == "Common"
    assert "INTERNAL" not in codes or codes["INTERNAL"] != "The error model"


def test_every_raised_key_is_documented() -> None:
    documented = documented_codes()
    raised = {**raised_in_gateway(), **raised_in_sql()}
    missing = sorted(f"{key} ({where})" for key, where in raised.items() if key not in documented)
    assert not missing, "reason keys raised but not in docs/error_codes.md:\n  " + "\n  ".join(missing)


def test_every_documented_key_is_raised() -> None:
    known = set(raised_in_sql()) | literals_in_sql() | set(raised_in_gateway())
    stale = sorted(f"{key} ({section})" for key, section in documented_codes().items() if key not in known)
    assert not stale, "docs/error_codes.md lists keys that nothing raises:\n  " + "\n  ".join(stale)


def test_the_scanner_finds_keys_in_sql() -> None:
    raised = raised_in_sql()
    # qms.fail(409, 'TENANT_EXISTS', …) and `detail = 'TENANT_REQUIRED'` are both in the core files.
    assert raised["TENANT_EXISTS"].startswith("sql/functions/qms/create_tenant.sql:")
    assert raised["TENANT_REQUIRED"].startswith("sql/functions/qms/claims.sql:")
