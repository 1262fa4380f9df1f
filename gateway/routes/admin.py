"""Admin console routes that need Python: setting a staff password (argon2 hashing happens here, never in SQL)
and pairing a kiosk or display (its token with the start URL and a QR code of it, shown once).

``POST /api/users/{user_id}/password`` hashes the password and stores it with ``api.set_user_password`` (admin
only, audited; the user's sessions end). ``POST /api/devices/{device_id}/token`` (gateway.routes.auth) answers
the pairing QR too."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from gateway import auth
from gateway.db import Database
from gateway.errors import ApiError
from qms.passwords import MIN_LENGTH as MIN_PASSWORD

router = APIRouter(tags=["admin"])


class PasswordIn(BaseModel):
    password: str = Field(max_length=1024)


class PasswordOut(BaseModel):
    user_id: str
    password_set: bool
    token_version: int


@router.post(
    "/api/users/{user_id}/password",
    response_model=PasswordOut,
    responses={
        400: {"description": "WEAK_PASSWORD"},
        403: {"description": "FORBIDDEN"},
        404: {"description": "USER_NOT_FOUND"},
    },
)
async def set_password(user_id: uuid.UUID, body: PasswordIn, request: Request) -> PasswordOut:
    """Set or reset a staff member's password (admin). Every session of that user ends (token_version bump,
    refresh tokens revoked). Errors: 400 WEAK_PASSWORD, 403 FORBIDDEN, 404 USER_NOT_FOUND."""
    if len(body.password) < MIN_PASSWORD:
        raise ApiError(
            400,
            "WEAK_PASSWORD",
            f"a password needs at least {MIN_PASSWORD} characters",
            details={"field": "password", "min_length": MIN_PASSWORD},
            hint="Choose a longer password.",
        )
    ctx = auth.request_context(request)
    digest = await asyncio.to_thread(auth.hash_password, body.password)
    db: Database = request.app.state.db
    _fn, text = await db.call(ctx, "set_user_password", {"user_id": str(user_id), "password_hash": digest})
    info: dict[str, Any] = json.loads(text or "{}")
    return PasswordOut(
        user_id=str(info["user_id"]), password_set=bool(info["password_set"]), token_version=int(info["token_version"])
    )
