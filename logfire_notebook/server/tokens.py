"""Read tokens of the local backend: `pylf_v1_local_<secret>`; only a SHA-256 of each is stored.

Tokens live in `tokens.json` in the data dir, apart from the database, so `token create` works while a
server holds the database open; the server re-reads the file when it changes. Writers take an exclusive
lock on `tokens.lock` and replace the file atomically, so concurrent `token create`s all land; a file that
is not valid JSON is a clear error (at server start, or for `token create`), never a silent loss.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["TOKEN_PREFIX", "TokenFileError", "TokenRegistry", "create_token"]

TOKEN_PREFIX = "pylf_v1_local_"
TOKENS_FILE = "tokens.json"
LOCK_FILE = "tokens.lock"


class TokenFileError(RuntimeError):
    """The tokens file cannot be read as tokens; `str()` says which file and what to do."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _load(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text())
        entries = list(data["tokens"])
        for entry in entries:
            if not (isinstance(entry, dict) and isinstance(entry.get("sha256"), str)):
                raise TypeError("an entry without a sha256")
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise TokenFileError(
            f"the tokens file {path} is not valid ({exc.__class__.__name__}: {exc}); restore it from a backup, "
            "or delete it and create new tokens with `logfire-notebook token create`"
        ) from None
    return entries


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    """Holds an exclusive lock on the data dir's tokens for the block (across processes)."""
    with os.fdopen(os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600), "r+") as lock:
        if sys.platform != "win32":
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def create_token(data_dir: Path) -> str:
    """Make a new read token for the backend of `data_dir`, store its hash, and return the token."""
    data_dir = Path(data_dir)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = data_dir / TOKENS_FILE
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with _locked(data_dir):
        entries = _load(path)
        entries.append(
            {
                "token_id": str(uuid.uuid4()),
                "sha256": _hash(token),
                "created_at": datetime.now(timezone.utc).isoformat(),
            }
        )
        # A temporary file of our own (mode 600 from mkstemp), then an atomic replace: a reader sees the old
        # file or the new one, never half of one.
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".tokens-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump({"tokens": entries}, out, indent=2)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    return token


class TokenRegistry:
    """Checks `Authorization` headers against the stored hashes."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / TOKENS_FILE
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._by_hash: dict[str, dict[str, Any]] = {}
        # Read now, so a corrupt file stops the server at start with TokenFileError.
        self._refresh(strict=True)

    def _refresh(self, *, strict: bool = False) -> None:
        try:
            mtime: float | None = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = None
        with self._lock:
            if mtime != self._mtime:
                try:
                    self._by_hash = {e["sha256"]: e for e in _load(self.path)} if mtime is not None else {}
                except TokenFileError as exc:
                    if strict:
                        raise
                    # Broken while running: keep the tokens known so far, say so once per change.
                    print(f"logfire-notebook: {exc}; keeping the tokens read before", file=sys.stderr)
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
