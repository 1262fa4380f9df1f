"""Schema lint: every table is tenant-scoped, RLS-protected and keyed for distribution by tenant.

Two checks with the same rules:

* ``lint_tree(sql_dir)`` parses every ``.sql`` file with pglast (a file that does not parse is a finding;
  PL/pgSQL bodies are parsed too, since migrations create functions with ``check_function_bodies`` off),
  replays the deployed files (migrations in version order, then functions, then policies) and inspects the
  result. pgTAP files are only parsed: their rolled-back helpers are not deployed code.
* ``lint_catalog(url)`` asks the catalog of a migrated database, which is the truth (it also sees what
  dynamic SQL created).

Rules, for every table in the schemas ``qms``, ``audit`` and ``analytics``:

* ``NO_TENANT_ID``: it has no ``tenant_id`` column;
* ``RLS_NOT_ENABLED`` / ``RLS_NOT_FORCED``: row level security is not enabled / not forced;
* ``NO_POLICY``: it has no policy;
* ``KEY_NOT_TENANT_LEADING``: a primary key, unique constraint, unique index or foreign key does not lead
  with ``tenant_id``.

and for every function: ``DEFINER_WITHOUT_SEARCH_PATH`` (``security definer`` without ``set search_path``).
Files that do not parse give ``PARSE_ERROR``.

A table commented ``comment on table … is 'lint:global <why>'`` holds global reference or infrastructure
data: it may lack ``tenant_id`` (and so tenant-leading keys, and foreign keys pointing at it need not lead
with ``tenant_id``), but still needs RLS and a policy. Single keys are exempted in ``ALLOWLIST``, each with
its reason.

CLI: ``uv run python -m qms.lint [--db URL] [SQL_DIR]`` prints one line per finding and exits 1 if any.

Layout: the rules in :mod:`qms.lint_rules`, the static check in :mod:`qms.lint_static`, the catalog check in
:mod:`qms.lint_catalog`; this module is the entry point and re-exports their public names.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from qms.lint_catalog import lint_catalog
from qms.lint_rules import ALLOWLIST, GLOBAL_MARKER, SCOPED_SCHEMAS, TENANT_COLUMN, Finding, TableFacts, rules
from qms.lint_static import StaticModel, deployed_files, lint_tree, other_files
from qms.migrate import SQL_DIR

__all__ = [
    "ALLOWLIST",
    "GLOBAL_MARKER",
    "SCOPED_SCHEMAS",
    "TENANT_COLUMN",
    "Finding",
    "StaticModel",
    "TableFacts",
    "deployed_files",
    "lint_catalog",
    "lint_tree",
    "main",
    "other_files",
    "rules",
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qms.lint", description=__doc__.split("\n\n")[0])
    parser.add_argument("sql_dir", nargs="?", type=Path, default=SQL_DIR, help="the sql/ directory")
    parser.add_argument("--db", help="also check the catalog of this migrated database (URL)")
    args = parser.parse_args(argv)
    findings = lint_tree(args.sql_dir)
    if args.db:
        findings += lint_catalog(args.db)
    for finding in findings:
        print(finding)
    if findings:
        print(f"{len(findings)} finding(s)", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
