"""The one way to call an ``api`` function from Python outside the gateway (CLI, demo seeding, tests).

:func:`call_api` does what the gateway does for a request, on a connection of the caller's: within a
transaction (a savepoint when one is open) it sets ``request.jwt.claims`` and the role named by the claims'
``role`` (both transaction-local), runs ``select api.<fn>(name => value, …)`` with named arguments and gives
back the function's jsonb. The role and claims end with the call, so the connection is the owner again after
it. Row-level security, role checks and the audit trail apply exactly as over HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

_SET_IDENTITY = "select set_config('role', %s, true), set_config('request.jwt.claims', %s, true)"


def call_api(conn: psycopg.Connection[Any], fn: str, claims: Mapping[str, Any], /, **args: Any) -> Any:
    """``api.fn(name => value, …)`` as ``claims['role']`` with ``claims``; the result as Python (from jsonb).

    Arguments that are None are left out, so the function's defaults apply. dicts are sent as jsonb; every
    other value as psycopg adapts it (str as an untyped literal, so uuid and text parameters both accept it).
    """
    present = {name: value for name, value in args.items() if value is not None}
    query = sql.SQL("select api.{}({})").format(
        sql.Identifier(fn),
        sql.SQL(", ").join(sql.SQL("{} => {}").format(sql.Identifier(n), sql.Placeholder()) for n in present),
    )
    values = [Jsonb(v) if isinstance(v, dict) else v for v in present.values()]
    with conn.transaction():
        before = conn.execute("select current_setting('role'), current_setting('request.jwt.claims', true)").fetchone()
        assert before is not None
        conn.execute(_SET_IDENTITY, (str(claims["role"]), json.dumps(dict(claims))))
        row = conn.execute(query, values).fetchone()
        # Inside an outer transaction the savepoint keeps local settings: put back what was there.
        conn.execute(_SET_IDENTITY, (before[0], before[1] or ""))
    return None if row is None else row[0]


def describe_error(exc: psycopg.Error) -> str:
    """One line: ``REASON_KEY (PT409): message. hint`` for the api's errors, ``SQLSTATE: message`` otherwise."""
    diag = exc.diag
    state = diag.sqlstate or ""
    message = (diag.message_primary or str(exc)).strip()
    hint = (diag.message_hint or "").strip()
    if state.startswith("PT") and diag.message_detail:
        text = f"{diag.message_detail.strip()} ({state}): {message}"
    else:
        text = f"{state or 'error'}: {message}"
    if hint:
        text += f". {hint}"
    return " ".join(text.split())
