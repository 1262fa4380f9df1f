"""The schema lint passes on our tree and on a migrated database, and catches each kind of defect."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg
import pytest

from qms.lint import ALLOWLIST, Finding, lint_catalog, lint_tree
from qms.migrate import ROOT, SQL_DIR

# A table that satisfies every rule; each bad sample below breaks exactly one.
GOOD_TABLE = """
create table qms.widgets (
    tenant_id uuid not null,
    widget_id uuid not null,
    code text not null,
    primary key (tenant_id, widget_id),
    unique (tenant_id, code)
);
alter table qms.widgets enable row level security;
alter table qms.widgets force row level security;
"""
GOOD_POLICY = """
drop policy if exists widgets_select_tenant on qms.widgets;
create policy widgets_select_tenant on qms.widgets for select using (tenant_id = qms.current_tenant_id());
"""


def make_tree(tmp_path: Path, schema: str, policy: str = GOOD_POLICY, functions: str = "") -> Path:
    sql = tmp_path / "sql"
    (sql / "schema").mkdir(parents=True)
    (sql / "policies").mkdir()
    (sql / "functions" / "qms").mkdir(parents=True)
    (sql / "schema" / "V0001__sample.sql").write_text(textwrap.dedent(schema))
    (sql / "policies" / "widgets.sql").write_text(textwrap.dedent(policy))
    if functions:
        (sql / "functions" / "qms" / "sample.sql").write_text(textwrap.dedent(functions))
    return sql


def rules_of(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.rule, f.subject) for f in findings]


# -- our own tree ------------------------------------------------------------------------------------
def test_lint_passes_on_our_tree() -> None:
    findings = lint_tree(SQL_DIR)
    assert findings == [], "\n".join(map(str, findings))


def test_lint_passes_on_the_catalog_of_a_migrated_database(db_url: str) -> None:
    findings = lint_catalog(db_url)
    assert findings == [], "\n".join(map(str, findings))


def test_cli_exits_zero_on_our_tree() -> None:
    proc = subprocess.run([sys.executable, "-m", "qms.lint"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == ""


def test_every_allowlist_entry_has_a_reason() -> None:
    assert ALLOWLIST
    for key, reason in ALLOWLIST.items():
        assert len(reason.split()) >= 5, key


# -- the sample itself is clean, so each failure below is caused by its one defect ------------------
def test_good_sample_is_clean(tmp_path: Path) -> None:
    assert lint_tree(make_tree(tmp_path, GOOD_TABLE)) == []


def test_table_without_tenant_id(tmp_path: Path) -> None:
    sql = make_tree(
        tmp_path,
        """
        create table qms.widgets (widget_id uuid primary key);
        alter table qms.widgets enable row level security;
        alter table qms.widgets force row level security;
        """,
        policy="create policy widgets_select_all on qms.widgets for select using (true);",
    )
    findings = lint_tree(sql)
    assert ("NO_TENANT_ID", "qms.widgets") in rules_of(findings)
    assert ("KEY_NOT_TENANT_LEADING", "qms.widgets") in rules_of(findings)
    assert findings[0].where == "sql/schema/V0001__sample.sql:2"


def test_global_marker_exempts_tenant_id_but_not_rls(tmp_path: Path) -> None:
    schema = """
        create table qms.timezones (name text primary key);
        comment on table qms.timezones is 'lint:global IANA zone names, the same for every tenant';
        alter table qms.timezones enable row level security;
        """
    findings = lint_tree(make_tree(tmp_path, schema, policy="create policy tz on qms.timezones using (true);"))
    assert rules_of(findings) == [("RLS_NOT_FORCED", "qms.timezones")]


def test_rls_not_forced(tmp_path: Path) -> None:
    schema = GOOD_TABLE.replace("alter table qms.widgets force row level security;", "")
    assert rules_of(lint_tree(make_tree(tmp_path, schema))) == [("RLS_NOT_FORCED", "qms.widgets")]


def test_rls_not_enabled(tmp_path: Path) -> None:
    schema = GOOD_TABLE.replace("alter table qms.widgets enable row level security;", "")
    assert rules_of(lint_tree(make_tree(tmp_path, schema))) == [("RLS_NOT_ENABLED", "qms.widgets")]


def test_rls_disabled_by_a_later_migration(tmp_path: Path) -> None:
    sql = make_tree(tmp_path, GOOD_TABLE)
    (sql / "schema" / "V0002__oops.sql").write_text("alter table qms.widgets no force row level security;\n")
    assert rules_of(lint_tree(sql)) == [("RLS_NOT_FORCED", "qms.widgets")]


def test_no_policy(tmp_path: Path) -> None:
    findings = lint_tree(make_tree(tmp_path, GOOD_TABLE, policy="-- nothing here\n"))
    assert rules_of(findings) == [("NO_POLICY", "qms.widgets")]


def test_dropped_policy_counts_as_no_policy(tmp_path: Path) -> None:
    policy = GOOD_POLICY + "drop policy widgets_select_tenant on qms.widgets;\n"
    assert rules_of(lint_tree(make_tree(tmp_path, GOOD_TABLE, policy=policy))) == [("NO_POLICY", "qms.widgets")]


@pytest.mark.parametrize(
    ("extra", "columns"),
    [
        ("create unique index widgets_code_key on qms.widgets (code, tenant_id);", "(code, tenant_id)"),
        ("create unique index widgets_lower_key on qms.widgets (lower(code));", "((expression))"),
        ("alter table qms.widgets add constraint widgets_code_uq unique (code);", "(code)"),
        ("alter table qms.widgets add column parent_id uuid references qms.widgets (widget_id);", "(parent_id)"),
    ],
)
def test_key_not_led_by_tenant_id(tmp_path: Path, extra: str, columns: str) -> None:
    findings = lint_tree(make_tree(tmp_path, GOOD_TABLE + extra + "\n"))
    assert rules_of(findings) == [("KEY_NOT_TENANT_LEADING", "qms.widgets")]
    assert columns in findings[0].message


def test_security_definer_without_search_path(tmp_path: Path) -> None:
    functions = """
        create or replace function qms.leaky() returns int language sql security definer as $$ select 1 $$;
        create or replace function qms.safe() returns int language sql security definer set search_path = ''
            as $$ select 1 $$;
        """
    findings = lint_tree(make_tree(tmp_path, GOOD_TABLE, functions=functions))
    assert rules_of(findings) == [("DEFINER_WITHOUT_SEARCH_PATH", "qms.leaky")]
    assert findings[0].where == "sql/functions/qms/sample.sql:2"


def test_unparseable_sql(tmp_path: Path) -> None:
    sql = make_tree(tmp_path, GOOD_TABLE)
    (sql / "tests").mkdir()
    # psql meta-commands are fine in a pgTAP script; the syntax error on line 3 is not.
    (sql / "tests" / "broken.sql").write_text("select 1;\n\\set ON_ERROR_STOP 1\nselect from where;\n")
    findings = lint_tree(sql)
    assert rules_of(findings) == [("PARSE_ERROR", "sql/tests/broken.sql")]
    assert findings[0].where == "sql/tests/broken.sql:3"
    assert "syntax error" in findings[0].message


def test_plpgsql_syntax_error_in_a_body(tmp_path: Path) -> None:
    functions = """
        create or replace function qms.typo() returns int language plpgsql as $$
        begin
            retrun 1;
        end
        $$;
        """
    findings = lint_tree(make_tree(tmp_path, GOOD_TABLE, functions=functions))
    assert rules_of(findings) == [("PARSE_ERROR", "qms.typo")]
    assert "retrun" in findings[0].message


def test_cli_prints_one_line_per_finding_and_fails(tmp_path: Path) -> None:
    schema = GOOD_TABLE.replace("alter table qms.widgets force row level security;", "")
    sql = make_tree(tmp_path, schema, policy="-- none\n")
    proc = subprocess.run([sys.executable, "-m", "qms.lint", str(sql)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert len(lines) == 2
    assert "RLS_NOT_FORCED qms.widgets" in lines[1] or "RLS_NOT_FORCED qms.widgets" in lines[0]
    assert any("NO_POLICY qms.widgets" in ln for ln in lines)


# -- the catalog check catches what the files may hide (dynamic SQL, manual changes) ---------------
def test_catalog_finds_each_defect(db_url: str) -> None:
    baseline = set(rules_of(lint_catalog(db_url)))  # empty when the tree is clean (asserted above)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("create table qms.no_tenant (id int primary key)")
        conn.execute("alter table qms.no_tenant enable row level security")
        conn.execute(
            "create table audit.loose (tenant_id uuid not null, code text not null, primary key (tenant_id, code))"
        )
        conn.execute("create unique index loose_code_key on audit.loose (code)")
        conn.execute("alter table qms.branches no force row level security")
        conn.execute("drop policy if exists tenants_select_member on qms.tenants")
        conn.execute("drop policy if exists tenants_update_admin on qms.tenants")
        conn.execute("create function qms.leaky() returns int language sql security definer as $$ select 1 $$")
    found = set(rules_of(lint_catalog(db_url))) - baseline
    assert found == {
        ("NO_TENANT_ID", "qms.no_tenant"),
        ("RLS_NOT_FORCED", "qms.no_tenant"),
        ("NO_POLICY", "qms.no_tenant"),
        ("KEY_NOT_TENANT_LEADING", "qms.no_tenant"),
        ("RLS_NOT_ENABLED", "audit.loose"),
        ("RLS_NOT_FORCED", "audit.loose"),
        ("NO_POLICY", "audit.loose"),
        ("KEY_NOT_TENANT_LEADING", "audit.loose"),
        ("RLS_NOT_FORCED", "qms.branches"),
        ("NO_POLICY", "qms.tenants"),
        ("DEFINER_WITHOUT_SEARCH_PATH", "qms.leaky()"),
    }


def test_catalog_honours_the_global_marker(db_url: str) -> None:
    baseline = lint_catalog(db_url)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("create table qms.timezones (name text primary key)")
        conn.execute("comment on table qms.timezones is 'lint:global IANA zone names'")
        conn.execute("alter table qms.timezones enable row level security")
        conn.execute("alter table qms.timezones force row level security")
        conn.execute("create policy timezones_select_all on qms.timezones for select using (true)")
        conn.execute(
            "create table qms.widgets (tenant_id uuid not null, zone text references qms.timezones (name),"
            " primary key (tenant_id, zone))"
        )
        conn.execute("alter table qms.widgets enable row level security")
        conn.execute("alter table qms.widgets force row level security")
        conn.execute("create policy widgets_select on qms.widgets for select using (true)")
    assert lint_catalog(db_url) == baseline
