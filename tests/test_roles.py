"""The one role list (qms.roles) is the set of roles a migrated database has: the NOLOGIN groups the first
migration creates and grants to the gateway's LOGIN role, and nothing else named qms_*."""

from __future__ import annotations

import psycopg

from gateway import auth
from qms import backup, docs, roles, tokens


def test_the_role_list_is_what_the_schema_creates(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        granted = conn.execute(
            "select r.rolname, r.rolcanlogin from pg_auth_members m"
            " join pg_roles r on r.oid = m.roleid join pg_roles a on a.oid = m.member"
            " where a.rolname = %s order by r.rolname",
            (roles.AUTHENTICATOR,),
        ).fetchall()
        named = conn.execute(
            r"select rolname from pg_roles where rolname like 'qms\_%%' and rolname <> %s order by rolname",
            (roles.AUTHENTICATOR,),
        ).fetchall()
        authenticator = conn.execute(
            "select rolcanlogin, rolinherit from pg_roles where rolname = %s", (roles.AUTHENTICATOR,)
        ).fetchone()
    assert granted == [(r, False) for r in sorted(roles.ROLES)], "NOLOGIN groups granted to the authenticator"
    assert [r for (r,) in named] == sorted(roles.ROLES), "no other qms_* role"
    assert authenticator == (True, False), "the authenticator logs in and does not inherit"


def test_every_user_of_the_list_takes_it_from_qms_roles() -> None:
    assert backup.ROLES is roles.ROLES and docs.ROLES is roles.ROLES
    assert sorted(auth.TOKEN_ROLES) == sorted(roles.ROLES)
    assert sorted(auth.SERVED_ROLES) == sorted(r for r in roles.ROLES if r != "qms_worker")
    assert tokens.ROLES == ("anon", "device", "agent", "supervisor", "admin", "analyst")
