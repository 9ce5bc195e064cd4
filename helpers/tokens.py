"""JWT issue and decode (HS256) and API key hashing."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt

ROLES = ("admin", "customer", "api_client")


class InvalidToken(Exception):
    """The token is missing, malformed, expired or badly signed."""


@dataclass(frozen=True)
class TokenClaims:
    role: str
    subject_id: int
    version: int
    admin: bool
    issued_at: int


def issue_token(
    secret: str, role: str, subject_id: int, ttl_min: int, version: int = 0, admin: bool = False
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "role": role,
        "sub": str(subject_id),
        "iat": now,
        "exp": now + ttl_min * 60,
        "ver": version,
    }
    if role == "admin":
        claims["user_id"] = subject_id
    elif role == "customer":
        claims["customer_id"] = subject_id
    else:
        claims["client_id"] = subject_id
        claims["admin"] = admin
    return jwt.encode(claims, secret, algorithm="HS256")


def decode_token(secret: str, token: str) -> TokenClaims:
    """The token's claims when it is well signed and not expired.

    A token is verified once (signature, claims) and then only its expiry is checked: the
    same client sends the same token with every request. Whether its subject may still act
    is the database's to say, on every request (services/auth.py).
    """
    claims, expires_at = _verified(secret, token)
    if expires_at <= time.time():
        raise InvalidToken("Signature has expired")
    return claims


@lru_cache(maxsize=4096)
def _verified(secret: str, token: str) -> tuple[TokenClaims, float]:
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], options={"require": ["exp", "iat", "sub"]}
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from None
    role = claims.get("role")
    version = claims.get("ver", 0)
    try:
        subject_id = int(claims["sub"])
    except (TypeError, ValueError):
        raise InvalidToken("bad subject") from None
    if role not in ROLES or not isinstance(version, int):
        raise InvalidToken("bad claims")
    issued_at = claims["iat"]
    if not isinstance(issued_at, int | float):
        raise InvalidToken("bad claims")
    admin = bool(claims.get("admin", False))
    return TokenClaims(role, subject_id, version, admin, int(issued_at)), claims["exp"]


def new_api_key() -> str:
    return secrets.token_urlsafe(32)


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()
