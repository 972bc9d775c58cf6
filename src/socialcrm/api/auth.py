"""API tokens: created and revoked with the CLI (or by an admin through the API), stored hashed.

A token reads ``scrm_<id>_<secret>``. Only ``HMAC-SHA256(salt, secret)`` and a random
per-token salt are stored (``api_tokens``, store migration 2), so a copy of the
workspace file gives nobody a working token; the id lets a check find its row without
scanning, and the comparison is constant-time. The token is printed once, at creation.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass

import duckdb

from socialcrm.api.permissions import ROLES, actions_of, sees_private

TOKEN_RE = re.compile(r"^scrm_(\d{1,18})_([A-Za-z0-9_-]{20,100})$")


class TokenError(Exception):
    """A token operation that cannot be done; the message says why."""


@dataclass(frozen=True)
class Caller:
    """Who is calling: the token's name and role, and what that role may see."""

    token_id: int
    name: str
    role: str
    entity_id: str | None
    sees_private: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "token_id": self.token_id,
            "name": self.name,
            "role": self.role,
            "entity_id": self.entity_id,
            "sees_private": self.sees_private,
            "actions": actions_of(self.role),
        }


def _digest(salt: str, secret: str) -> str:
    return hmac.new(bytes.fromhex(salt), secret.encode(), hashlib.sha256).hexdigest()


def create_token(
    con: duckdb.DuckDBPyConnection, name: str, role: str, entity_id: str | None = None
) -> tuple[int, str]:
    """Create a token; return ``(token_id, token)``. The token cannot be shown again."""
    name = name.strip()
    if not name or len(name) > 200:
        raise TokenError("a token needs a name of 1 to 200 characters (who or what uses it)")
    if role not in ROLES:
        raise TokenError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    token_id = int(con.execute("SELECT nextval('api_token_seq')").fetchall()[0][0])
    con.execute(
        "INSERT INTO api_tokens (token_id, name, role, entity_id, salt, token_hash)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [token_id, name, role, entity_id, salt, _digest(salt, secret)],
    ).fetchall()  # leave no pending result on the connection (DuckDB 2)
    return token_id, f"scrm_{token_id}_{secret}"


def revoke_token(con: duckdb.DuckDBPyConnection, token_id: int) -> None:
    rows = con.execute(
        "SELECT revoked_at FROM api_tokens WHERE token_id = ?", [token_id]
    ).fetchall()
    row = rows[0] if rows else None
    if row is None:
        raise TokenError(f"no token with id {token_id} (see `socialcrm tokens list`)")
    if row[0] is not None:
        raise TokenError(f"token {token_id} was already revoked at {row[0]}")
    con.execute(
        "UPDATE api_tokens SET revoked_at = now() WHERE token_id = ?", [token_id]
    ).fetchall()


def list_tokens(con: duckdb.DuckDBPyConnection) -> list[dict[str, object]]:
    """Every token without its hash: id, name, role, entity, created and revoked times."""
    cur = con.execute(
        "SELECT token_id, name, role, entity_id,"
        " strftime(created_at, '%Y-%m-%dT%H:%M:%SZ') AS created_at,"
        " strftime(revoked_at, '%Y-%m-%dT%H:%M:%SZ') AS revoked_at"
        " FROM api_tokens ORDER BY token_id"
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


class TokenVerifier:
    """Checks tokens against the store, remembering good ones for ``ttl`` seconds.

    The server is the only writer of its workspace while it runs (DuckDB locks the
    file), so a revocation through the API calls :meth:`forget` and takes effect at once.
    """

    def __init__(self, private_roles: tuple[str, ...], ttl: float = 30.0) -> None:
        self.private_roles = private_roles
        self.ttl = ttl
        self._cache: dict[str, tuple[Caller, float]] = {}
        self._lock = threading.Lock()

    def verify(self, con: duckdb.DuckDBPyConnection, token: str) -> Caller | None:
        now = time.monotonic()
        hit = self._cache.get(token)
        if hit is not None and now - hit[1] < self.ttl:
            return hit[0]
        m = TOKEN_RE.match(token or "")
        if m is None:
            return None
        token_id, secret = int(m.group(1)), m.group(2)
        rows = con.execute(
            "SELECT name, role, entity_id, salt, token_hash FROM api_tokens"
            " WHERE token_id = ? AND revoked_at IS NULL",
            [token_id],
        ).fetchall()
        row = rows[0] if rows else None
        if row is None:
            return None
        name, role, entity_id, salt, token_hash = row
        if not hmac.compare_digest(_digest(salt, secret), token_hash):
            return None
        caller = Caller(token_id, name, role, entity_id, sees_private(role, self.private_roles))
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[token] = (caller, now)
        return caller

    def forget(self, token_id: int | None = None) -> None:
        """Drop remembered tokens (one id, or all)."""
        with self._lock:
            if token_id is None:
                self._cache.clear()
            else:
                self._cache = {k: v for k, v in self._cache.items() if v[0].token_id != token_id}
