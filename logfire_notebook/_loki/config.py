"""Where a Loki client's address and credentials come from, as `logcli` reads them.

Arguments first, then the environment: `LOKI_ADDR` (default `http://localhost:3100`, as logcli's),
`LOKI_ORG_ID` (sent as `X-Scope-OrgID`), `LOKI_USERNAME` / `LOKI_PASSWORD` (basic auth), `LOKI_BEARER_TOKEN`
or `LOKI_BEARER_TOKEN_FILE`. Passwords and tokens are `Secret`s: their repr is masked, and they only ever
travel in the `Authorization` header, which httpx shows as `[secure]`.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from logfire_notebook._config import Secret
from logfire_notebook._exceptions import ConfigError

__all__ = ["DEFAULT_ADDR", "LokiConfig", "resolve_loki_config"]

DEFAULT_ADDR = "http://localhost:3100"


@dataclass(frozen=True)
class LokiConfig:
    addr: str
    org_id: str | None = None
    username: str | None = None
    password: Secret | None = None
    bearer_token: Secret | None = None

    def __repr__(self) -> str:
        auth = "basic" if self.username else "bearer" if self.bearer_token else None
        return f"LokiConfig(addr={self.addr!r}, org_id={self.org_id!r}, auth={auth!r})"

    def secrets(self) -> list[str]:
        """Every form a credential takes on the wire, to scrub from text a server sends back."""
        found = [str(s) for s in (self.password, self.bearer_token) if s]
        auth = self.headers().get("authorization")
        if auth:
            found += [auth, auth.split(" ", 1)[1]]
        return found

    def headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.org_id:
            headers["x-scope-orgid"] = self.org_id
        if self.username is not None:
            pair = f"{self.username}:{self.password or ''}".encode()
            headers["authorization"] = "Basic " + base64.b64encode(pair).decode()
        elif self.bearer_token:
            headers["authorization"] = f"Bearer {self.bearer_token}"
        return headers


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def resolve_loki_config(
    addr: str | None = None,
    *,
    org_id: str | None = None,
    username: str | None = None,
    password: str | None = None,
    bearer_token: str | None = None,
    bearer_token_file: str | os.PathLike[str] | None = None,
) -> LokiConfig:
    """The configuration from the arguments, then the LOKI_* environment variables (see the module)."""
    addr = (addr or _env("LOKI_ADDR") or DEFAULT_ADDR).strip().rstrip("/")
    if not addr.startswith(("http://", "https://")):
        raise ConfigError(f"The Loki address {addr!r} has no http:// or https://: write e.g. http://{addr}.")
    explicit_auth = any(v is not None for v in (username, password, bearer_token, bearer_token_file))
    if not explicit_auth:
        username, password = _env("LOKI_USERNAME"), _env("LOKI_PASSWORD")
        bearer_token, bearer_token_file = _env("LOKI_BEARER_TOKEN"), _env("LOKI_BEARER_TOKEN_FILE")
    if bearer_token is None and bearer_token_file is not None:
        bearer_token = _read_token_file(Path(bearer_token_file))
    if username is not None and bearer_token is not None:
        raise ConfigError(
            "Both a username (basic auth) and a bearer token are set for Loki: keep one of "
            "LOKI_USERNAME/LOKI_PASSWORD and LOKI_BEARER_TOKEN(_FILE)."
        )
    if password is not None and username is None:
        raise ConfigError(
            "A Loki password is set without a username: set LOKI_USERNAME too (or pass username=)."
        )
    return LokiConfig(
        addr=addr,
        org_id=org_id or _env("LOKI_ORG_ID"),
        username=username,
        password=Secret(password) if password is not None else None,
        bearer_token=Secret(bearer_token.strip()) if bearer_token else None,
    )


def _read_token_file(path: Path) -> str:
    try:
        token = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(
            f"The bearer token file {str(path)!r} cannot be read ({exc.strerror}): check LOKI_BEARER_TOKEN_FILE."
        ) from None
    if not token:
        raise ConfigError(f"The bearer token file {str(path)!r} is empty: check LOKI_BEARER_TOKEN_FILE.")
    return token
