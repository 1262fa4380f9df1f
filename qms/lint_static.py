"""The static half of the schema lint (see :mod:`qms.lint`): parse every ``.sql`` file with pglast, replay
the deployed DDL (migrations in version order, then functions, then policies) and check what it leaves."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pglast
from pglast import ast
from pglast.enums.parsenodes import AlterTableType, ConstrType, ObjectType

from qms.lint_rules import GLOBAL_MARKER, SCOPED_SCHEMAS, TENANT_COLUMN, Finding, TableFacts, rules
from qms.migrate import SQL_DIR


@dataclass
class Key:
    kind: str  # primary | unique | foreign
    columns: tuple[str, ...]
    where: str
    references: str | None = None  # the referenced table of a foreign key


@dataclass
class Table:
    name: str
    where: str
    columns: set[str] = field(default_factory=set)
    rls_enabled: bool = False
    rls_forced: bool = False
    policies: set[str] = field(default_factory=set)
    is_global: bool = False
    keys: list[Key] = field(default_factory=list)


# -- static: parse files and replay the DDL ---------------------------------------------------------
def _version(path: Path) -> tuple[int, str]:
    m = re.match(r"V(\d+)__", path.name)
    return (int(m.group(1)) if m else 1 << 30, path.name)


def deployed_files(sql_dir: Path) -> list[Path]:
    """What ``qms.migrate`` applies, in its order: migrations by version, functions, policies."""
    schema = sorted((sql_dir / "schema").glob("*.sql"), key=_version)
    functions = sorted((sql_dir / "functions").rglob("*.sql"))
    policies = sorted((sql_dir / "policies").rglob("*.sql"))
    return [*schema, *functions, *policies]


def other_files(sql_dir: Path) -> list[Path]:
    """Every other ``.sql`` file (pgTAP tests, helpers): parsed, not replayed."""
    seen = set(deployed_files(sql_dir))
    return sorted(p for p in sql_dir.rglob("*.sql") if p not in seen)


def _without_psql_syntax(sql: str) -> str:
    """Scripts run by psql may hold meta-commands (``\\set``, a trailing ``\\gset``) and variables
    (``:'name'``, ``:name``): turn them into plain SQL, keeping line numbers, so the script parses."""
    sql = re.sub(r"(?m)^[ \t]*\\.*$", "", sql)
    sql = re.sub(r"\\g(set|exec)?\b[^\n]*", ";", sql)
    sql = re.sub(r":'[A-Za-z_]\w*'", "'psql_var'", sql)
    sql = re.sub(r':"[A-Za-z_]\w*"', '"psql_var"', sql)
    return re.sub(r"(?<![:\w]):[A-Za-z_]\w*", "0", sql)


def _line(sql: str, location: int | None) -> int:
    # pglast reports character offsets (0-based).
    if not location or location < 0:
        return 1
    return sql.count("\n", 0, location) + 1


def _qualified(rel: ast.RangeVar | None) -> str:
    if rel is None:
        return ""
    return f"{rel.schemaname or 'public'}.{rel.relname}"


def _strings(nodes: Iterable[Any] | None) -> tuple[str, ...]:
    return tuple(str(n.sval) for n in nodes or () if isinstance(n, ast.String))


class StaticModel:
    """The tables and functions that the replayed DDL leaves behind."""

    def __init__(self) -> None:
        self.tables: dict[str, Table] = {}
        self.findings: list[Finding] = []

    # -- entry points ------------------------------------------------------------------------
    def feed_file(self, path: Path, display: str, deployed: bool = True) -> None:
        """Parse a file; replay its DDL when it is deployed code (tests are only parsed)."""
        sql = path.read_text()
        if not deployed:
            sql = _without_psql_syntax(sql)
        try:
            stmts = pglast.parse_sql(sql)
        except pglast.parser.ParseError as exc:
            loc = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
            self.findings.append(Finding(f"{display}:{_line(sql, loc)}", "PARSE_ERROR", display, str(exc.args[0])))
            return
        for raw in stmts:
            where = f"{display}:{_line(sql, raw.stmt_location)}"
            if deployed:
                self._statement(raw.stmt, where, sql, raw)
            elif isinstance(raw.stmt, ast.CreateFunctionStmt):
                self._plpgsql_syntax(raw.stmt, where, sql, raw)

    # -- statements ----------------------------------------------------------------------------
    def _statement(self, stmt: Any, where: str, sql: str, raw: ast.RawStmt) -> None:
        if isinstance(stmt, ast.CreateStmt):
            self._create_table(stmt, where)
        elif isinstance(stmt, ast.AlterTableStmt) and stmt.objtype == ObjectType.OBJECT_TABLE:
            self._alter_table(stmt, where)
        elif isinstance(stmt, ast.IndexStmt) and stmt.unique:
            self._unique_index(stmt, where)
        elif isinstance(stmt, ast.CreatePolicyStmt):
            table = self.tables.get(_qualified(stmt.table))
            if table:
                table.policies.add(str(stmt.policy_name))
        elif isinstance(stmt, ast.DropStmt):
            self._drop(stmt)
        elif isinstance(stmt, ast.CommentStmt) and stmt.objtype == ObjectType.OBJECT_TABLE:
            name = _strings(stmt.object)
            qualified = ".".join(name) if len(name) == 2 else f"public.{name[-1]}"
            table = self.tables.get(qualified)
            if table:
                table.is_global = (stmt.comment or "").startswith(GLOBAL_MARKER)
        elif isinstance(stmt, ast.CreateFunctionStmt):
            self._function(stmt, where, sql, raw)

    def _create_table(self, stmt: ast.CreateStmt, where: str) -> None:
        name = _qualified(stmt.relation)
        table = Table(name, where)
        self.tables[name] = table
        for elt in stmt.tableElts or ():
            if isinstance(elt, ast.ColumnDef):
                self._column(table, elt, where)
            elif isinstance(elt, ast.Constraint):
                self._constraint(table, elt, where)

    def _column(self, table: Table, col: ast.ColumnDef, where: str) -> None:
        column = str(col.colname)
        table.columns.add(column)
        for con in col.constraints or ():
            kind = _key_kind(con)
            if kind:
                ref = _qualified(con.pktable) if kind == "foreign" else None
                table.keys.append(Key(kind, (column,), where, ref))

    def _constraint(self, table: Table, con: ast.Constraint, where: str) -> None:
        kind = _key_kind(con)
        if kind == "foreign":
            table.keys.append(Key(kind, _strings(con.fk_attrs), where, _qualified(con.pktable)))
        elif kind and con.keys:
            table.keys.append(Key(kind, _strings(con.keys), where))

    def _alter_table(self, stmt: ast.AlterTableStmt, where: str) -> None:
        table = self.tables.get(_qualified(stmt.relation))
        if table is None:
            return
        for cmd in stmt.cmds or ():
            sub = cmd.subtype
            if sub == AlterTableType.AT_EnableRowSecurity:
                table.rls_enabled = True
            elif sub == AlterTableType.AT_DisableRowSecurity:
                table.rls_enabled = False
            elif sub == AlterTableType.AT_ForceRowSecurity:
                table.rls_forced = True
            elif sub == AlterTableType.AT_NoForceRowSecurity:
                table.rls_forced = False
            elif sub == AlterTableType.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
                self._column(table, cmd.def_, where)
            elif sub == AlterTableType.AT_DropColumn:
                table.columns.discard(cmd.name)
            elif sub == AlterTableType.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
                self._constraint(table, cmd.def_, where)

    def _unique_index(self, stmt: ast.IndexStmt, where: str) -> None:
        table = self.tables.get(_qualified(stmt.relation))
        if table is None:
            return
        # An expression element has no name: the key then does not lead with tenant_id.
        columns = tuple(p.name or "(expression)" for p in stmt.indexParams or ())
        table.keys.append(Key("unique", columns, where))

    def _drop(self, stmt: ast.DropStmt) -> None:
        for obj in stmt.objects or ():
            parts = _strings(obj) if isinstance(obj, tuple) else ()
            if stmt.removeType == ObjectType.OBJECT_POLICY and len(parts) >= 2:
                rel = parts[:-1] if len(parts) == 3 else ("public", parts[0])
                table = self.tables.get(".".join(rel))
                if table:
                    table.policies.discard(parts[-1])
            elif stmt.removeType == ObjectType.OBJECT_TABLE and parts:
                self.tables.pop(".".join(parts) if len(parts) == 2 else f"public.{parts[-1]}", None)

    def _function(self, stmt: ast.CreateFunctionStmt, where: str, sql: str, raw: ast.RawStmt) -> None:
        name = ".".join(_strings(stmt.funcname))
        options = {o.defname: o.arg for o in stmt.options or () if isinstance(o, ast.DefElem)}
        sets = [
            o.arg.name
            for o in stmt.options or ()
            if isinstance(o, ast.DefElem) and o.defname == "set" and isinstance(o.arg, ast.VariableSetStmt)
        ]
        definer = options.get("security")
        if isinstance(definer, ast.Boolean) and definer.boolval and "search_path" not in sets:
            self.findings.append(
                Finding(where, "DEFINER_WITHOUT_SEARCH_PATH", name, "security definer function without set search_path")
            )
        self._plpgsql_syntax(stmt, where, sql, raw)

    def _plpgsql_syntax(self, stmt: ast.CreateFunctionStmt, where: str, sql: str, raw: ast.RawStmt) -> None:
        name = ".".join(_strings(stmt.funcname))
        language = next(
            (o.arg for o in stmt.options or () if isinstance(o, ast.DefElem) and o.defname == "language"), None
        )
        if isinstance(language, ast.String) and language.sval == "plpgsql":
            start = raw.stmt_location or 0
            text = sql[start : start + raw.stmt_len] if raw.stmt_len else sql[start:]
            try:
                pglast.parse_plpgsql(text)
            except pglast.parser.ParseError as exc:
                # Without a catalog the PL/pgSQL parser cannot resolve types (%rowtype of our tables,
                # variadic arrays): only its syntax errors are findings.
                if "syntax error" in str(exc.args[0]):
                    self.findings.append(Finding(where, "PARSE_ERROR", name, f"PL/pgSQL body: {exc.args[0]}"))

    # -- rules ---------------------------------------------------------------------------------
    def check(self) -> list[Finding]:
        findings = list(self.findings)
        global_tables = {t.name for t in self.tables.values() if t.is_global}
        for table in self.tables.values():
            if table.name.split(".")[0] not in SCOPED_SCHEMAS:
                continue
            facts = TableFacts(
                table.name,
                has_tenant_id=TENANT_COLUMN in table.columns,
                rls_enabled=table.rls_enabled,
                rls_forced=table.rls_forced,
                policies=len(table.policies),
                is_global=table.is_global,
                keys=[(k.kind, k.columns, k.references) for k in table.keys],
            )
            findings.extend(rules(facts, table.where, global_tables))
        return findings


def _key_kind(con: Any) -> str | None:
    if not isinstance(con, ast.Constraint):
        return None
    kinds = {
        ConstrType.CONSTR_PRIMARY: "primary",
        ConstrType.CONSTR_UNIQUE: "unique",
        ConstrType.CONSTR_FOREIGN: "foreign",
    }
    return kinds.get(con.contype) if con.contype is not None else None


def lint_tree(sql_dir: Path = SQL_DIR) -> list[Finding]:
    """Parse and check every ``.sql`` file under ``sql_dir``."""
    sql_dir = Path(sql_dir)
    model = StaticModel()
    for path in deployed_files(sql_dir):
        model.feed_file(path, str(path.relative_to(sql_dir.parent)))
    for path in other_files(sql_dir):
        model.feed_file(path, str(path.relative_to(sql_dir.parent)), deployed=False)
    return sorted(model.check())
