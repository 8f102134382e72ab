"""Argon2id password hashes (pwdlib), computed off the event loop: a hash takes tens of ms."""

from __future__ import annotations

import asyncio
import secrets
import string
from functools import cache

from pwdlib import PasswordHash


@cache
def hasher() -> PasswordHash:
    return PasswordHash.recommended()


@cache
def _decoy() -> str:
    return hasher().hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(hasher().hash, password)


async def verify(password: str, hashed: str | None) -> tuple[bool, str | None]:
    """(matches, a new hash when the parameters changed). With no hash (unknown user) the
    decoy is verified, so an unknown name takes as long as a wrong password."""
    if hashed is None:
        await asyncio.to_thread(hasher().verify, password, _decoy())
        return False, None
    return await asyncio.to_thread(hasher().verify_and_update, password, hashed)


def one_time_password(length: int = 16) -> str:
    """A random password meeting the policy (for the first administrator and resets)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        core = "".join(secrets.choice(alphabet) for _ in range(length - 2))
        value = core + secrets.choice("!@#%+=") + secrets.choice(string.digits)
        if any(c.islower() for c in value) and any(c.isupper() for c in value):
            return value
