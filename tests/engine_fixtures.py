"""Shared helpers for the queue-engine tests: seed a tenant, a branch, services and counters through the api
(tests.seed_branch), and open psycopg 3 connections that act as an application role with JWT-style claims."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

ADMIN = "qms_admin"
AGENT = "qms_agent"
WORKER = "qms_worker"


@dataclass(frozen=True)
class Seed:
    """What ``seed_branch`` created; counters[i] is mapped to mapping[i] (a list of service ids)."""

    tenant_id: uuid.UUID
    branch_id: uuid.UUID
    service_ids: list[uuid.UUID]
    counter_ids: list[uuid.UUID]
    mapping: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)

    def claims(self, role: str = AGENT, sub: str | None = None, **extra: Any) -> dict[str, Any]:
        """Claims of a branch-scoped user of this tenant (an agent by default)."""
        return make_claims(role, self.tenant_id, [self.branch_id], sub=sub, **extra)


def make_claims(
    role: str,
    tenant_id: uuid.UUID | None,
    branch_ids: Sequence[uuid.UUID] | None = None,
    sub: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    claims: dict[str, Any] = {"role": role, "sub": sub or str(uuid.uuid4())}
    if tenant_id is not None:
        claims["tenant_id"] = str(tenant_id)
    if branch_ids is not None:
        claims["branch_ids"] = [str(b) for b in branch_ids]
    claims.update(extra)
    return claims


def seed_branch(
    url: str,
    n_services: int = 1,
    n_counters: int = 1,
    services_per_counter: int | None = None,
    slug: str | None = None,
    policy: dict[str, Any] | None = None,
) -> Seed:
    """One tenant, one branch, ``n_services`` services and ``n_counters`` available counters, made through
    the api by ``tests.seed_branch`` (sql/tests/_helpers.sql), the one seeding path of tests and benchmarks.

    Counter i is mapped to ``services_per_counter`` services starting at service ``i mod n_services``
    (all services when None), so every service is reachable when counters >= services.
    ``policy`` (optional) is set as the branch-wide policy.
    """
    slug = slug or f"t-{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        tenant_row = conn.execute("select qms.create_tenant(%s, %s)", (f"Tenant {slug}", slug)).fetchone()
        assert tenant_row is not None
        tenant_id: uuid.UUID = tenant_row[0]
        row = conn.execute(
            "select tests.seed_branch(%s, %s, %s, %s, %s)",
            (tenant_id, n_services, n_counters, services_per_counter, Jsonb(policy) if policy is not None else None),
        ).fetchone()
        assert row is not None
    made: dict[str, Any] = row[0]
    return Seed(
        tenant_id,
        uuid.UUID(made["branch_id"]),
        [uuid.UUID(s) for s in made["service_ids"]],
        [uuid.UUID(c) for c in made["counter_ids"]],
        {uuid.UUID(c): [uuid.UUID(s) for s in ss] for c, ss in made["mapping"].items()},
    )


def connect_as(url: str, role: str, claims: dict[str, Any], autocommit: bool = True) -> psycopg.Connection[Any]:
    """A connection that acts as ``role`` with ``claims`` for its whole session (as a DBA would in psql).

    The superuser connection drops to the role with ``set role``, so RLS and grants apply exactly as for
    the gateway; rows come back as dicts.
    """
    conn: psycopg.Connection[Any] = psycopg.connect(url, autocommit=autocommit, row_factory=dict_row)
    set_identity(conn, role, claims)
    if not autocommit:
        conn.commit()
    return conn


def set_identity(conn: psycopg.Connection[Any], role: str, claims: dict[str, Any]) -> None:
    """Switch a session to another role and claims (session-level)."""
    conn.execute("reset role")
    conn.execute("select set_config('request.jwt.claims', %s, false)", (json.dumps(claims),))
    conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))


def create_tickets(
    url: str, claims: dict[str, Any], service_id: uuid.UUID, n: int, batch: int = 500, analyze: bool = True
) -> int:
    """Create ``n`` tickets through api.create_ticket, in batches (one transaction per batch), then ANALYZE
    the engine tables as autovacuum would after that many inserts (a freshly cloned database has no
    statistics, and the planner then picks a tenant-wide index for the queue head)."""
    made = 0
    with connect_as(url, AGENT, claims) as conn:
        while made < n:
            k = min(batch, n - made)
            row = conn.execute(
                "select count(api.create_ticket(service_id => %s)) as n from generate_series(1, %s)",
                (service_id, k),
            ).fetchone()
            assert row is not None
            made += int(row["n"])
    if analyze:
        analyze_engine_tables(url)
    return made


def analyze_engine_tables(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("analyze qms.tickets, qms.ticket_events, qms.idempotency_keys, qms.ticket_number_counters")


def owner_rows(url: str, query: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Rows of a query run as the owner (bypasses RLS): for assertions on the raw tables."""
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchall()


def pg_error(exc: BaseException) -> tuple[str | None, str | None]:
    """(SQLSTATE, reason key) of a psycopg error, (None, None) otherwise."""
    if isinstance(exc, psycopg.Error) and exc.diag is not None:
        return exc.diag.sqlstate, exc.diag.message_detail
    return None, None
