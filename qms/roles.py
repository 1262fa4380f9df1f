"""The database roles of the system (docs/permissions.md), defined once.

The first migration (``sql/schema/V0001__create_core_tables.sql``) creates them as NOLOGIN groups and grants
them to the LOGIN role ``qms_authenticator``; ``tests/test_roles.py`` checks this list against a migrated
database. Backup/restore (``qms.backup``) recreates them on a fresh server, the permission docs
(``qms.docs``) have a column per role, and tokens (``qms.tokens``, ``gateway.auth``) name them.
"""

from __future__ import annotations

AUTHENTICATOR = "qms_authenticator"
ROLES = ("qms_anon", "qms_device", "qms_agent", "qms_supervisor", "qms_admin", "qms_worker", "qms_analyst")
# Roles the gateway does not serve over HTTP, and why (their tokens are refused).
NOT_SERVED = {
    "qms_worker": "platform jobs (relay, no-show sweeper, retention) run inside the system and connect to the"
    " database as qms_worker; the gateway refuses a qms_worker token",
}
SERVED_ROLES = tuple(r for r in ROLES if r not in NOT_SERVED)
