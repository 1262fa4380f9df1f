"""The rules of the schema lint (see :mod:`qms.lint`), shared by the static and the catalog check: what a
finding is, the facts about one table both checks gather, and the checks on those facts."""

from __future__ import annotations

from dataclasses import dataclass

SCOPED_SCHEMAS = ("qms", "audit", "analytics")
GLOBAL_MARKER = "lint:global"
TENANT_COLUMN = "tenant_id"

# (table, kind, key columns) -> why this key may not lead with tenant_id. kind: primary|unique|foreign.
# (qms.tenants' own primary key *is* tenant_id, so it passes without an entry.)
ALLOWLIST: dict[tuple[str, str, tuple[str, ...]], str] = {
    ("qms.tenants", "unique", ("slug",)): (
        "the slug names a tenant at login, before any tenant is known: it is globally unique by design"
    ),
}


@dataclass(frozen=True, order=True)
class Finding:
    """One rule violation: ``where`` is ``path:line`` (static) or ``catalog`` (database)."""

    where: str
    rule: str
    subject: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.rule} {self.subject}: {self.message}"


@dataclass
class TableFacts:
    name: str
    has_tenant_id: bool
    rls_enabled: bool
    rls_forced: bool
    policies: int
    is_global: bool
    keys: list[tuple[str, tuple[str, ...], str | None]]  # kind, columns, referenced table


def rules(t: TableFacts, where: str, global_tables: set[str]) -> list[Finding]:
    out: list[Finding] = []
    if not t.has_tenant_id and not t.is_global:
        out.append(Finding(where, "NO_TENANT_ID", t.name, f"no {TENANT_COLUMN} column (or mark it '{GLOBAL_MARKER}')"))
    if not t.rls_enabled:
        out.append(Finding(where, "RLS_NOT_ENABLED", t.name, "row level security is not enabled"))
    if not t.rls_forced:
        out.append(Finding(where, "RLS_NOT_FORCED", t.name, "row level security is not forced"))
    if t.policies == 0:
        out.append(Finding(where, "NO_POLICY", t.name, "no row level security policy"))
    if t.is_global:
        return out
    for kind, columns, references in t.keys:
        if columns[:1] == (TENANT_COLUMN,) or (t.name, kind, columns) in ALLOWLIST:
            continue
        if kind == "foreign" and references in global_tables:
            continue
        out.append(
            Finding(
                where,
                "KEY_NOT_TENANT_LEADING",
                t.name,
                f"{kind} key ({', '.join(columns)}) does not lead with {TENANT_COLUMN}",
            )
        )
    return out
