"""Read tokens of the local backend: `pylf_v1_local_<secret>`; only a SHA-256 of each is stored.

Tokens live in `tokens.json` in the data dir, apart from the database, so `token create` works while a
server holds the database open; the server re-reads the file when it changes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["TOKEN_PREFIX", "TokenRegistry", "create_token"]

TOKEN_PREFIX = "pylf_v1_local_"
TOKENS_FILE = "tokens.json"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _load(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    return list(data.get("tokens", []))


def create_token(data_dir: Path) -> str:
    """Make a new read token for the backend of `data_dir`, store its hash, and return the token."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / TOKENS_FILE
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    entries = _load(path)
    entries.append(
        {
            "token_id": str(uuid.uuid4()),
            "sha256": _hash(token),
            "created_at": datetime.now(timezone.utc).isoformat(),
        }
    )
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"tokens": entries}, indent=2))
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return token


class TokenRegistry:
    """Checks `Authorization` headers against the stored hashes."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / TOKENS_FILE
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._by_hash: dict[str, dict[str, Any]] = {}

    def _refresh(self) -> None:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            mtime = None
        with self._lock:
            if mtime != self._mtime:
                self._by_hash = {e["sha256"]: e for e in _load(self.path)} if mtime is not None else {}
                self._mtime = mtime

    def lookup(self, authorization: str | None) -> dict[str, Any] | None:
        """The token's entry for an `Authorization: <token>` or `Authorization: Bearer <token>` header."""
        if not authorization:
            return None
        value = authorization.strip()
        if value[:7].lower() == "bearer ":
            value = value[7:].strip()
        if not value.startswith(TOKEN_PREFIX):
            return None
        self._refresh()
        digest = _hash(value)
        for known, entry in self._by_hash.items():
            if hmac.compare_digest(known, digest):
                return entry
        return None
