"""Hostile input never reaches a 5xx: every ``/rpc/<fn>`` of the catalog and every REST route, fed wrong
types, huge and deeply nested values, NUL and lone surrogates, non-JSON and wrong content types, answers 4xx
with a short structured body and changes nothing in the database."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.gateway.gwkit import Gateway, Tenant, login

ERROR_KEYS = {"code", "message", "details", "hint", "request_id"}
MAX_ERROR_BYTES = 4096  # an error body echoes at most a short prefix of what was sent
DEEP = 2000  # deeper than Python's recursion limit: the parser itself would give up
LONE = "\ud800"


def dumps(value: Any) -> bytes:
    """JSON text as a client would send it: lone surrogates as \\uXXXX escapes (always valid ASCII)."""
    return json.dumps(value).encode()


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def assert_refused(r: httpx.Response, what: str, code: str | None = None) -> None:
    assert 400 <= r.status_code < 500, f"{what}: {r.status_code} {r.text[:300]}"
    assert len(r.content) <= MAX_ERROR_BYTES, f"{what}: error body of {len(r.content)} bytes"
    body = r.json()
    assert set(body) == ERROR_KEYS and isinstance(body["code"], str) and body["code"], f"{what}: {body}"
    assert body["request_id"] == r.headers["x-request-id"]
    if code is not None:
        assert body["code"] == code, f"{what}: {body}"


def fingerprint(db_url: str) -> dict[str, str]:
    """An md5 of every row of every table in schemas qms and audit (as the superuser: RLS does not apply)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        tables = conn.execute(
            "select format('%I.%I', schemaname, tablename) from pg_tables"
            " where schemaname in ('qms', 'audit') order by 1"
        ).fetchall()
        out: dict[str, str] = {}
        for (table,) in tables:
            row = conn.execute(f"select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {table} t")
            out[table] = str(row.fetchone()[0])  # type: ignore[index]
        return out


def rpc_functions(gw: Gateway) -> dict[str, dict[str, Any]]:
    """``/rpc`` path → its POST body schema, for every api function of the catalog (test-only ones aside)."""
    doc = httpx.get(gw.url + "/openapi.json", timeout=30).json()
    return {
        path: item["post"]["requestBody"]["content"]["application/json"]["schema"]
        for path, item in doc["paths"].items()
        if path.startswith("/rpc/") and not path.startswith("/rpc/test_")
    }


def placeholder(schema: dict[str, Any]) -> Any:
    """A value of the argument's type that names nothing (the hostile value of another argument decides)."""
    kind = schema.get("type")
    if kind == "array":
        return []
    if schema.get("format") == "uuid":
        return str(uuid.uuid4())
    return {"integer": 0, "number": 0, "boolean": False, "string": "zz"}.get(kind or "")


def hostile_values(schema: dict[str, Any]) -> list[Any]:
    """Values no argument of this type accepts."""
    values: list[Any] = [LONE, "nul\x00", {"k\x00": 1}, [f"x{LONE}"]]
    kind = schema.get("type")
    if schema == {}:  # json/jsonb: any JSON is a value, so only unstorable text is wrong
        return values
    values += [{"a": 1}] if kind == "array" else [{"a": 1}, [1, 2]]
    if kind == "array":
        values += [["not-a-uuid"] if schema["items"].get("format") == "uuid" else [{"a": [1]}], [[1], [2, 3]]]
    elif schema.get("format") == "uuid":
        values += ["not-a-uuid", 12345, "0" * 5000]
    elif kind == "integer":
        values += [10**40, "seven", 1.5, True]
    elif kind == "boolean":
        values += ["maybe", 2]
    elif kind == "number":
        values += ["1e999999", "many"]
    elif schema.get("format") in ("date", "date-time"):
        values += ["not a date", 17]
    return values


@pytest.fixture(scope="module")
def admin_token(gateway: Gateway, tenant_module: Tenant) -> str:
    return str(login(gateway, tenant_module)["access_token"])


@pytest.fixture(scope="module")
def tenant_module(gateway: Gateway) -> Tenant:
    from tests.gateway.gwkit import make_tenant

    return make_tenant(gateway.db_url)


@pytest.fixture
def unchanged(gateway: Gateway, admin_token: str) -> Iterator[None]:
    before = fingerprint(gateway.db_url)
    yield
    after = fingerprint(gateway.db_url)
    assert {t for t in before if before[t] != after.get(t)} == set()


def test_every_rpc_function_refuses_hostile_arguments(gateway: Gateway, admin_token: str, unchanged: None) -> None:
    functions = rpc_functions(gateway)
    assert len(functions) >= 20, sorted(functions)
    with gateway.client(admin_token) as client:
        for path, schema in functions.items():
            props: dict[str, Any] = schema["properties"]
            base = {name: placeholder(props[name]) for name in schema["required"]}
            for name, arg in props.items():
                for value in hostile_values(arg):
                    r = client.post(path, content=dumps({**base, name: value}))
                    assert_refused(r, f"{path} {name}={str(value)[:40]!r}")
            key = next(iter(props), "x")
            whole = {
                "not JSON": (b"{not json", "application/json", "INVALID_JSON"),
                "JSON array": (b"[1, 2]", "application/json", "INVALID_JSON"),
                "NaN": (b'{"%s": NaN}' % key.encode(), "application/json", "INVALID_JSON"),
                "bad UTF-8": (b'{"a": "\xff\xfe"}', "application/json", "INVALID_JSON"),
                "deep": (nested(DEEP), "application/json", "NESTING_TOO_DEEP"),
                "deep in an argument": (dumps({**base, key: json.loads(nested(40))}), "application/json", None),
                "huge": (dumps({**base, key: "x" * 300_000}), "application/json", "BODY_TOO_LARGE"),
                "lone surrogate key": (dumps({**base, LONE: 1}), "application/json", "INVALID_TEXT"),
                "text/plain": (dumps(base), "text/plain", "UNSUPPORTED_MEDIA_TYPE"),
                "form": (b"a=1", "application/x-www-form-urlencoded", "UNSUPPORTED_MEDIA_TYPE"),
            }
            if schema["required"]:
                whole["empty body"] = (b"", "application/json", "INVALID_ARGUMENTS")
            for what, (content, content_type, code) in whole.items():
                r = client.post(path, content=content, headers={"Content-Type": content_type})
                assert_refused(r, f"{path} {what}", code)
            for query in (f"{key}=%00", f"{key}=%ED%A0%80", "x%00=1", f"{key}=%FF"):
                assert_refused(client.get(f"{path}?{query}"), f"GET {path}?{query}", "INVALID_TEXT")


def rest_operations(gw: Gateway) -> list[tuple[str, str, dict[str, Any]]]:
    doc = httpx.get(gw.url + "/openapi.json", timeout=30).json()
    ops = []
    for path, item in doc["paths"].items():
        if path.startswith(("/api/", "/auth/")):
            for method, op in item.items():
                ops.append((method.upper(), path, op))
    return ops


def test_every_rest_route_refuses_hostile_input(gateway: Gateway, admin_token: str, unchanged: None) -> None:
    ops = rest_operations(gateway)
    assert {p for _m, p, _o in ops} >= {"/api/tickets", "/api/tickets/{ticket_id}", "/auth/login", "/api/branches"}
    with gateway.client(admin_token) as client:
        for method, path, op in ops:
            concrete = path.replace("{ticket_id}", str(uuid.uuid4())).replace("{counter_id}", str(uuid.uuid4()))
            concrete = concrete.replace("{device_id}", str(uuid.uuid4()))
            for bad_path in (path.replace("{", "%00").replace("}", ""), path.replace("{", "%ED%A0%80")):
                if "{" in path:
                    assert_refused(client.request(method, bad_path), f"{method} {bad_path}")
            for query in ("branch_id=%00", "branch_id=%ED%A0%80", "x%00=1"):
                assert_refused(
                    client.request(method, f"{concrete}?{query}"), f"{method} {path}?{query}", "INVALID_TEXT"
                )
            if method != "POST":
                continue
            fields = list(
                ((op.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema", {}))
                .get("properties", {})
                .keys()
            )
            bodies: list[tuple[str, bytes, str, str | None]] = [
                ("not JSON", b"{not json", "application/json", "INVALID_JSON"),
                ("deep", nested(DEEP), "application/json", "NESTING_TOO_DEEP"),
                ("huge", dumps({"x": "y" * 300_000}), "application/json", "BODY_TOO_LARGE"),
                ("text/plain", b"{}", "text/plain", "UNSUPPORTED_MEDIA_TYPE"),
                ("lone surrogate key", dumps({LONE: 1}), "application/json", "INVALID_TEXT"),
                ("wrong shape", dumps([1, {"a": None}]), "application/json", None),
            ]
            for field in [*fields, "extra_field"]:
                for value in (LONE, "a\x00b", [LONE], {"n": {"m": "\udfff"}}):
                    bodies.append((f"{field}={value!r}", dumps({field: value}), "application/json", "INVALID_TEXT"))
                for value in ({"a": 1}, [[[]]], 10**40, "z" * 100_000):
                    bodies.append(
                        (f"{field}=<{type(value).__name__}>", dumps({field: value}), "application/json", None)
                    )
            for what, content, content_type, code in bodies:
                r = client.post(concrete, content=content, headers={"Content-Type": content_type})
                assert_refused(r, f"{method} {path} {what}", code)


# -- property: an unstorable string anywhere in any JSON body is refused before any function runs ----------
_TEXT = st.text(st.characters(codec=None, exclude_categories=["Cs"]), max_size=8)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=4),
    max_leaves=12,
)
_BAD = st.sampled_from([LONE, "\udfff", "a\x00", "\x00", "x\udc80y"])


@st.composite
def poisoned(draw: st.DrawFn) -> dict[str, Any]:
    """A JSON object with one unstorable string hidden at a random place (as a key or a value)."""
    body: dict[str, Any] = draw(st.dictionaries(_TEXT, _JSON, max_size=4))
    bad: str = draw(_BAD)
    target: Any = body
    for _ in range(draw(st.integers(0, 3))):
        child: dict[str, Any] = {}
        target[draw(_TEXT)] = child
        target = child
    if draw(st.booleans()):
        target[bad] = draw(_JSON)
    else:
        target[draw(_TEXT)] = [draw(_JSON), bad]
    return body


def test_unstorable_text_anywhere_is_refused(gateway: Gateway, admin_token: str, unchanged: None) -> None:
    paths = [*sorted(rpc_functions(gateway)), "/api/tickets", "/api/branches", "/auth/login"]
    with gateway.client(admin_token) as client:

        @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(path=st.sampled_from(paths), body=poisoned())
        def check(path: str, body: dict[str, Any]) -> None:
            assert_refused(client.post(path, content=dumps(body)), path, "INVALID_TEXT")

        check()
