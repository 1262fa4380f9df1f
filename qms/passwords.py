"""Staff passwords set outside the gateway (CLI, demo seeding): hashed with argon2 here, never sent to SQL in
clear, and stored by ``qms.set_user_password_hash`` (owner only: it refuses a user of another tenant, bumps
the user's token_version and revokes their refresh tokens)."""

from __future__ import annotations

from typing import Any

import psycopg
from argon2 import PasswordHasher

MIN_LENGTH = 8


class PasswordError(ValueError):
    """The password is refused before anything is stored."""


def set_password(conn: psycopg.Connection[Any], tenant_id: str, user_id: str, password: str) -> None:
    """Store ``password`` for the user, on the owner connection ``conn`` (inside its transaction)."""
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"WEAK_PASSWORD: a password needs at least {MIN_LENGTH} characters")
    digest = PasswordHasher().hash(password)
    conn.execute("select qms.set_user_password_hash(%s::uuid, %s::uuid, %s)", (tenant_id, user_id, digest))
