"""One way to call an ``api`` function: a pooled connection as ``qms_authenticator``, one pipeline per
request (one round trip, one implicit transaction): the token check (raises PT401 TOKEN_REVOKED) and
``set_config('role', …)`` with the request claims, headers and id in one statement, then
``select api.<fn>(<arg> => $1::<type>, …)`` built from catalog identifiers only."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection, AsyncCursor, sql
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from gateway import errors
from gateway.config import Settings
from gateway.errors import ApiError

log = logging.getLogger("gateway.db")
T = TypeVar("T")

RETRYABLE = (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)
CATALOG_REFRESH_MIN_INTERVAL = 1.0

CATALOG_SQL = """
select p.oid::bigint, p.proname, p.provolatile::text, p.proretset, p.prorettype = 'void'::regtype,
       format_type(p.prorettype, null), p.pronargdefaults,
       coalesce((select json_agg(json_build_object('name', a.name, 'type', format_type(a.typ, null),
                                                   'mode', a.mode::text) order by a.ord)
                 from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]),
                             coalesce(p.proargmodes, array_fill('i'::"char", array[p.pronargs])),
                             coalesce(p.proargnames, array_fill(''::text, array[p.pronargs])))
                      with ordinality as a(typ, mode, name, ord)), '[]'::json),
       obj_description(p.oid, 'pg_proc')
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace n on n.oid = p.pronamespace
where n.nspname = 'api' and p.prokind = 'f'
order by p.proname, p.oid
"""


@dataclass(frozen=True)
class Arg:
    name: str
    type: str
    has_default: bool

    @property
    def is_array(self) -> bool:
        return self.type.endswith("[]")

    @property
    def is_json(self) -> bool:
        return self.type in ("json", "jsonb")


@dataclass(frozen=True)
class Function:
    name: str
    oid: int
    args: tuple[Arg, ...]
    volatility: str  # i, s, v
    returns_set: bool
    returns_void: bool
    return_type: str
    description: str | None
    # The call statement per tuple of argument names, built once (see :meth:`query`).
    _queries: dict[tuple[str, ...], str] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def readonly(self) -> bool:
        return self.volatility in ("i", "s")

    @cached_property
    def by_name(self) -> dict[str, Arg]:
        return {a.name: a for a in self.args}

    @cached_property
    def required(self) -> frozenset[str]:
        return frozenset(a.name for a in self.args if not a.has_default)

    def accepts(self, names: set[str]) -> bool:
        return self.required <= names and names <= self.by_name.keys()

    def query(self, names: tuple[str, ...]) -> str:
        """The SQL text of a call with these named arguments (clients send the same few shapes)."""
        text = self._queries.get(names)
        if text is None:
            if len(self._queries) >= 64:  # a bound against clients that vary the argument order
                self._queries.clear()
            text = self._queries[names] = call_query(self, list(names)).as_string()
        return text


def _function_of(row: tuple[Any, ...]) -> Function | None:
    oid, name, volatility, retset, retvoid, rettype, ndefaults, raw_args, description = row
    inputs = [a for a in raw_args if a["mode"] in ("i", "b", "v")]
    if any(not a["name"] or a["mode"] == "v" for a in inputs):
        return None  # unnamed or variadic arguments cannot be called by name
    first_default = len(inputs) - (ndefaults or 0)
    args = tuple(Arg(a["name"], a["type"], i >= first_default) for i, a in enumerate(inputs))
    return Function(name, int(oid), args, volatility, bool(retset), bool(retvoid), rettype, description)


@dataclass
class Catalog:
    """The ``api`` schema as of the last introspection; refreshed at startup and on an unknown name."""

    functions: dict[str, list[Function]] = field(default_factory=dict)
    version: int = 0
    loaded_at: float = 0.0

    async def load(self, conn: AsyncConnection[Any]) -> None:
        cur = await conn.execute(CATALOG_SQL)
        functions: dict[str, list[Function]] = {}
        for row in await cur.fetchall():
            fn = _function_of(row)
            if fn is not None:
                functions.setdefault(fn.name, []).append(fn)
        if functions != self.functions:
            self.version += 1
        self.functions = functions
        self.loaded_at = time.monotonic()

    def resolve(self, name: str, given: set[str]) -> Function:
        candidates = self.functions.get(name)
        if not candidates:
            raise ApiError(404, "UNKNOWN_FUNCTION", f"no api function named {name!r}", hint="See /openapi.json.")
        if len(candidates) == 1:
            matching = candidates if candidates[0].accepts(given) else []
        else:
            matching = sorted((f for f in candidates if f.accepts(given)), key=lambda f: len(f.args))
        if not matching:
            expected = [{"name": a.name, "type": a.type, "required": not a.has_default} for a in candidates[0].args]
            raise ApiError(
                400,
                "INVALID_ARGUMENTS",
                f"api.{name} does not take the arguments {sorted(given)}",
                details={"expected": expected},
                hint="Send the function's named arguments (required ones at least), no others.",
            )
        return matching[0]


def pg_array_literal(values: list[Any]) -> str:
    """A Postgres array literal for a JSON list (nested lists become multi-dimensional arrays)."""
    items: list[str] = []
    for v in values:
        if v is None:
            items.append("NULL")
        elif isinstance(v, list):
            items.append(pg_array_literal(v))
        else:
            text = (
                json.dumps(v) if isinstance(v, dict) else ("true" if v is True else "false" if v is False else str(v))
            )
            items.append('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(items) + "}"


def to_param(arg: Arg, value: Any, *, from_query: bool) -> str | None:
    """The text sent for one argument; the server casts it to ``arg.type``."""
    if value is None:
        return None
    if arg.is_json:
        return value if from_query and isinstance(value, str) else json.dumps(value)
    if isinstance(value, list):
        if arg.is_array:
            return pg_array_literal(value)
        raise ApiError(400, "INVALID_ARGUMENTS", f"argument {arg.name} expects {arg.type}, not a list")
    if isinstance(value, dict):
        raise ApiError(400, "INVALID_ARGUMENTS", f"argument {arg.name} expects {arg.type}, not an object")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def call_query(fn: Function, names: list[str]) -> sql.Composed:
    by_name = fn.by_name
    call = sql.SQL("{}.{}({})").format(
        sql.Identifier("api"),
        sql.Identifier(fn.name),
        sql.SQL(", ").join(
            sql.SQL("{} => {}::{}").format(sql.Identifier(n), sql.Placeholder(), sql.SQL(by_name[n].type))
            for n in names
        ),
    )
    if fn.returns_void:
        return sql.SQL("select {}").format(call)
    if fn.returns_set:
        return sql.SQL("select coalesce(jsonb_agg(to_jsonb(r)), '[]'::jsonb)::text from {} as r").format(call)
    return sql.SQL("select to_jsonb({})::text").format(call)


@dataclass(frozen=True)
class RequestContext:
    """Who is calling: the database role, the claims JSON, and the headers the database may read."""

    role: str
    claims: dict[str, Any]
    headers: dict[str, str]
    request_id: str
    anonymous: bool

    def enter_params(self, statement_timeout_ms: int) -> tuple[str, str, str, str, str]:
        return (
            self.role,
            json.dumps(self.claims),
            json.dumps(self.headers),
            self.request_id,
            str(statement_timeout_ms),
        )

    def check_params(self) -> tuple[Any, Any, str, int | None]:
        return token_check_params(self.claims, self.role)


def token_check_params(claims: dict[str, Any], role: str) -> tuple[Any, Any, str, int | None]:
    """The arguments of the revocation check (qms.auth_token_valid / qms.auth_require_token_valid) for a
    verified token's claims: tenant, sub, role and the token version (tv) when the token carries one."""
    tv = claims.get("tv")
    return claims.get("tenant_id"), claims.get("sub"), role, tv if isinstance(tv, int) else None


# `set role` is refused inside a security definer function: the role is set here, outside the token check.
ENTER_SQL = (
    "select set_config('role', %s, true), set_config('request.jwt.claims', %s, true),"
    " set_config('request.headers', %s, true), set_config('request.id', %s, true),"
    " set_config('statement_timeout', %s, true)"
)
# With a token, the same statement starts with the token check (security definer): it raises PT401
# TOKEN_REVOKED, which aborts the implicit transaction, and the server skips the statements after it. One
# statement rather than two spares a round of queueing, flushing and result handling per request.
CHECK_ENTER_SQL = "select qms.auth_require_token_valid(%s::uuid, %s, %s, %s::int), " + ENTER_SQL.removeprefix("select ")


class Database:
    """The pool runs in autocommit mode: a request is one pipeline (token check, ``set_config``, the call)
    ended by one Sync, which the server runs as one implicit transaction: one round trip, all or nothing
    (an error rolls back everything before it and skips everything after it)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pool = AsyncConnectionPool(
            settings.authenticator_url,
            min_size=settings.pool_min,
            max_size=settings.pool_max,
            open=False,
            kwargs={"application_name": "qms-gateway", "autocommit": True},
            timeout=10,
        )
        self.catalog = Catalog()
        self._refresh_lock = asyncio.Lock()

    async def open(self) -> None:
        await self.pool.open(wait=True, timeout=30)
        await self.refresh_catalog(force=True)

    async def close(self) -> None:
        await self.pool.close()

    async def refresh_catalog(self, force: bool = False) -> None:
        async with self._refresh_lock:
            if not force and time.monotonic() - self.catalog.loaded_at < CATALOG_REFRESH_MIN_INTERVAL:
                return
            async with self.pool.connection() as conn:
                await self.catalog.load(conn)

    async def resolve(self, name: str, given: set[str]) -> Function:
        if name not in self.catalog.functions:
            await self.refresh_catalog()
        return self.catalog.resolve(name, given)

    async def raw(self, work: Callable[[AsyncConnection[Any]], Awaitable[T]]) -> T:
        """Run ``work`` as qms_authenticator itself (login functions), in one transaction."""
        return await self.transaction(None, work)

    async def transaction(self, ctx: RequestContext | None, work: Callable[[AsyncConnection[Any]], Awaitable[T]]) -> T:
        """``work`` in one explicit transaction under the caller's role and claims (BEGIN, token check and
        ``set_config`` in one round trip); serialization failures are retried."""

        async def run(conn: AsyncConnection[Any]) -> T:
            try:
                async with conn.pipeline():
                    await conn.execute("begin")
                    if ctx is not None:
                        await self._queue_enter(conn.cursor(), ctx)
                result = await work(conn)
                await conn.execute("commit")
            except BaseException:
                if conn.info.transaction_status != TransactionStatus.IDLE:
                    with contextlib.suppress(Exception):
                        await conn.rollback()
                raise
            return result

        return await self._attempts(ctx, run)

    async def check(self, ctx: RequestContext) -> None:
        """Only the token check (realtime authentication and re-checks): one round trip."""

        async def run(conn: AsyncConnection[Any]) -> None:
            async with conn.pipeline():
                await self._queue_enter(conn.cursor(), ctx)

        await self._attempts(ctx, run)

    async def fetch_one(
        self, ctx: RequestContext, query: str | sql.Composed, params: Sequence[Any]
    ) -> tuple[Any, ...] | None:
        """One statement under the caller's role and claims, in one pipeline (one round trip); its first row."""

        async def run(conn: AsyncConnection[Any]) -> tuple[Any, ...] | None:
            # One cursor for all the statements: only the last one's row is wanted.
            cur = conn.cursor()
            async with conn.pipeline():
                await self._queue_enter(cur, ctx)
                await cur.execute(query, params)
            return await cur.fetchone()

        return await self._attempts(ctx, run)

    async def _attempts(self, ctx: RequestContext | None, run: Callable[[AsyncConnection[Any]], Awaitable[T]]) -> T:
        attempts = max(self.settings.serialization_retries, 0) + 1
        for attempt in range(attempts):
            try:
                async with self.pool.connection() as conn:
                    try:
                        return await run(conn)
                    except psycopg.errors.InvalidSqlStatementName:
                        # psycopg counts a statement as prepared when its Parse was queued in a pipeline
                        # that an earlier error aborted (the server skipped it). The statement did not run
                        # (its implicit transaction rolled back): drop the connection and run it again.
                        await conn.close()
                        raise
            except (*RETRYABLE, psycopg.errors.InvalidSqlStatementName) as exc:
                log.info("retrying", extra={"attempt": attempt + 1, "sqlstate": exc.sqlstate})
                await asyncio.sleep(min(0.5, 0.01 * 2**attempt) * (0.5 + random.random()))  # noqa: S311
            except PoolTimeout as exc:
                raise ApiError(503, "DATABASE_UNAVAILABLE", "no database connection available", hint="Retry.") from exc
            except psycopg.Error as exc:
                raise errors.from_pg(exc, anonymous=ctx.anonymous if ctx else True) from exc
        raise ApiError(
            503,
            "SERIALIZATION_RETRY_EXHAUSTED",
            "the request kept conflicting with concurrent requests",
            hint="Retry the request with the same request_id.",
            headers={"Retry-After": "1"},
        )

    async def _queue_enter(self, cur: AsyncCursor[Any], ctx: RequestContext) -> None:
        """Queue (pipeline mode) the token check and the ``set_config`` of role, claims, headers and id."""
        enter = ctx.enter_params(self.settings.statement_timeout_ms)
        if ctx.anonymous:
            await cur.execute(ENTER_SQL, enter)
        else:
            await cur.execute(CHECK_ENTER_SQL, (*ctx.check_params(), *enter))

    async def call(
        self, ctx: RequestContext, name: str, args: dict[str, Any], *, from_query: bool = False
    ) -> tuple[Function, str | None]:
        """Call ``api.<name>`` with named arguments; the JSON text of the result (None for void)."""
        fn = await self.resolve(name, set(args))
        if from_query and not fn.readonly:
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"api.{name} changes data: call it with POST", hint="Use POST.")
        by_name = fn.by_name
        names = tuple(args)
        params = [to_param(by_name[n], args[n], from_query=from_query) for n in names]
        query = fn.query(names)

        try:
            row = await self.fetch_one(ctx, query, params)
            return fn, None if fn.returns_void or row is None else row[0]
        except ApiError as exc:
            if exc.code == "INVALID_ARGUMENTS":
                # The function may have been replaced since the last introspection.
                await self.refresh_catalog()
            raise
