"""Provider credentials at rest: a Fernet token (AES-128-CBC + HMAC-SHA256, from ``cryptography``) of the
credentials JSON, keyed by ``QMS_SECRET_KEY``. Only Python encrypts (the admin route) and decrypts (the
sender); the database stores the token and no ``api`` function returns it. ``QMS_SECRET_KEY`` is either a
Fernet key (32 url-safe base64 bytes) or any passphrase, from which a key is derived with SHA-256."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

from cryptography.fernet import Fernet, InvalidToken


class SecretKeyError(Exception):
    """QMS_SECRET_KEY is missing, or does not open a stored secret (the key changed)."""


def _fernet(key: str | None = None) -> Fernet:
    raw = key if key is not None else os.environ.get("QMS_SECRET_KEY", "")
    if not raw:
        raise SecretKeyError("QMS_SECRET_KEY is not set: provider credentials cannot be encrypted or read")
    try:
        return Fernet(raw.encode())
    except ValueError:
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(raw.encode()).digest()))


def encrypt(credentials: dict[str, Any], key: str | None = None) -> str:
    return _fernet(key).encrypt(json.dumps(credentials, sort_keys=True).encode()).decode()


def decrypt(token: str, key: str | None = None) -> dict[str, Any]:
    try:
        value = json.loads(_fernet(key).decrypt(token.encode()))
    except InvalidToken as exc:
        raise SecretKeyError("a stored provider secret does not open with QMS_SECRET_KEY") from exc
    if not isinstance(value, dict):
        raise SecretKeyError("a stored provider secret is not a JSON object")
    return value
