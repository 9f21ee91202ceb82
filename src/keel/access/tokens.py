"""API tokens: made from 256 random bits, shown once, stored as a SHA-256 hash.

A token reads ``keel_<token_id>_<secret>``: the id is public (lists, ``keel tokens
revoke``), the secret is ``secrets.token_urlsafe(32)``. SHA-256 suffices for secrets this
long (nobody can guess 2^256 values; a slow hash such as argon2 is for passwords that
people choose), and it lets the server find a token by its hash in one indexed read.
"""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "keel_"


def new_token() -> tuple[str, str]:
    """A fresh ``(token_id, token)``."""
    token_id = secrets.token_hex(8)
    return token_id, f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"


def hash_token(token: str) -> str:
    """What the database keeps of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
