"""Where the read token and the base URL come from.

In order, the first that gives a token wins:

1. the `read_token=` / `base_url=` arguments;
2. the `LOGFIRE_READ_TOKEN` / `LOGFIRE_BASE_URL` environment variables;
3. `.logfire/read_token.json` in the current folder or the nearest parent that has one, as written by
   `logfire read-tokens create --save` (`{"token", "base_url", "organization", "project_name", "expires_at"}`).
   An expired file is skipped; a symlinked one is refused, as the logfire CLI does, because its `base_url`
   decides where the token is sent.

Without an explicit base URL it follows from the token's region, `pylf_v<N>_<region>_<secret>`: `us` and
`eu` are Logfire's regions, `stagingus`/`stagingeu` its staging hosts (as the logfire SDK maps them), and a
`local` token (from `logfire-notebook token create`) has no public host, so it needs `LOGFIRE_BASE_URL` or
`base_url=`. Other regions warn and fall back to the US host, as the logfire SDK does.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from logfire_notebook._exceptions import ConfigError

__all__ = [
    "Config",
    "ConfigWarning",
    "base_url_from_token",
    "find_token_file",
    "mask_token",
    "resolve_config",
]

TOKEN_ENV = "LOGFIRE_READ_TOKEN"
BASE_URL_ENV = "LOGFIRE_BASE_URL"
TOKEN_FILE = Path(".logfire") / "read_token.json"

REGION_URLS: dict[str, str] = {
    "us": "https://logfire-us.pydantic.dev",
    "eu": "https://logfire-eu.pydantic.dev",
    "stagingus": "https://logfire-us.pydantic.info",
    "stagingeu": "https://logfire-eu.pydantic.info",
}
_REGION_RE = re.compile(r"^pylf_v\d+_(?P<region>[a-z]+)_")

_NO_TOKEN = (
    f"No Logfire read token found: set {TOKEN_ENV} (or pass read_token=...) to a token from "
    "`logfire read-tokens create --save` or your project's Settings → Read tokens, "
    "or for the local backend run `logfire-notebook token create` and set LOGFIRE_BASE_URL too."
)


class ConfigWarning(UserWarning):
    """The configuration works but is probably not what was meant (an unknown token region)."""


@dataclass(frozen=True)
class Config:
    """A resolved configuration. `repr` masks the token."""

    read_token: str
    base_url: str
    source: str  # "argument", "environment" or the token file's path, for messages

    def __repr__(self) -> str:
        return f"Config(read_token={mask_token(self.read_token)!r}, base_url={self.base_url!r}, source={self.source!r})"


class Secret(str):
    """A token whose repr is masked: tracebacks that print local variables (IPython's Verbose mode,
    `traceback.TracebackException(capture_locals=True)`, error trackers) show `'pylf_v1_us_…'`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(mask_token(self))


def secret(token: str | None) -> Secret | None:
    return None if token is None else Secret(token.strip())


def mask_token(token: str) -> str:
    """`pylf_v1_us_abc…` -> `pylf_v1_us_…`: the region stays readable, the secret goes."""
    match = _REGION_RE.match(token)
    return f"{match.group(0)}…" if match else "…"


def base_url_from_token(token: str) -> str:
    """The Logfire host for the token's region; a `local` token has none (ConfigError)."""
    match = _REGION_RE.match(token)
    region = match.group("region") if match else "us"  # tokens from before regions existed are US tokens
    if region == "local":
        raise ConfigError(
            f"This is a local backend token ({mask_token(token)}), which has no public host: "
            f"set {BASE_URL_ENV} or pass base_url= to the URL of `logfire-notebook serve` (e.g. http://127.0.0.1:8787, its default port)."
        )
    url = REGION_URLS.get(region)
    if url is None:
        warnings.warn(
            f"Unknown region {region!r} in the Logfire token, using the US host {REGION_URLS['us']}; "
            f"pass base_url= if your project lives elsewhere.",
            ConfigWarning,
            stacklevel=4,
        )
        url = REGION_URLS["us"]
    return url


def find_token_file(start: Path | None = None) -> Path | None:
    """The nearest `.logfire/read_token.json` from `start` (default: the current folder) upwards."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / TOKEN_FILE
        if path.is_file() or path.is_symlink():
            return path
    return None


def _read_token_file(path: Path) -> tuple[str, str | None] | None:
    """`(token, base_url)` from a saved token file, or None when it is expired."""
    if path.is_symlink():
        raise ConfigError(
            f"{path} is a symlink, which is not trusted for a token: replace it with the real file."
        )
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"Could not read {path} ({type(exc).__name__}): recreate it with `logfire read-tokens create --save`."
        ) from None
    token = (
        secret(data.get("token")) if isinstance(data, dict) and isinstance(data.get("token"), str) else None
    )
    if not token:
        raise ConfigError(f"{path} has no token: recreate it with `logfire read-tokens create --save`.")
    expires_at = data.get("expires_at")
    if isinstance(expires_at, str):
        try:
            expiry = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
        except ValueError:
            expiry = None
        if expiry is not None:
            expiry = expiry if expiry.tzinfo else expiry.replace(tzinfo=timezone.utc)
            if expiry <= datetime.now(timezone.utc):
                return None
    base_url = data.get("base_url")
    return token, base_url if isinstance(base_url, str) and base_url else None


def resolve_config(read_token: str | None = None, base_url: str | None = None) -> Config:
    """Token and base URL from the arguments, then the environment, then `.logfire/read_token.json`."""
    read_token = secret(read_token)  # rebound first thing, so no frame shows the raw token
    base_url = base_url or os.environ.get(BASE_URL_ENV) or None
    if read_token:
        return Config(read_token, _base_url(read_token, base_url), "argument")
    env_token = Secret(os.environ.get(TOKEN_ENV, "").strip())
    if env_token:
        return Config(env_token, _base_url(env_token, base_url), "environment")
    path = find_token_file()
    if path is not None:
        saved = _read_token_file(path)
        if saved is None:
            raise ConfigError(
                f"The read token in {path} has expired: create a new one with `logfire read-tokens create --save` "
                f"or set {TOKEN_ENV}."
            )
        token, saved_url = saved
        return Config(token, _base_url(token, base_url or saved_url), str(path))
    raise ConfigError(_NO_TOKEN)


def _base_url(token: str, explicit: str | None) -> str:
    url = explicit or base_url_from_token(token)
    return _with_scheme(url.strip()).rstrip("/")


def _with_scheme(url: str) -> str:
    """The URL itself, or a ConfigError when it lacks `http://` / `https://` (httpx would fail later with a
    message about a broken connection)."""
    scheme, sep, _ = url.partition("://")
    if sep and scheme.lower() in ("http", "https"):
        return url
    if sep:
        raise ConfigError(
            f"The base URL {url!r} starts with {scheme}://, but the Logfire API is reached over http:// or "
            f"https://: set {BASE_URL_ENV} (or base_url=) to e.g. https://logfire-us.pydantic.dev or "
            "http://127.0.0.1:8787."
        )
    raise ConfigError(
        f"The base URL {url!r} has no scheme: write it with http:// or https://, "
        f"e.g. {BASE_URL_ENV}=http://{url.rstrip('/')} for a local backend."
    )
