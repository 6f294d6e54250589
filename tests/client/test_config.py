"""Where the token and base URL come from, and what a user sees when there is none."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from logfire_notebook import ConfigError, LogfireClient
from logfire_notebook._config import ConfigWarning, resolve_config

SECRET = "s3cr3tS3CR3Tabcdef0123456789"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("LOGFIRE_READ_TOKEN", raising=False)
    monkeypatch.delenv("LOGFIRE_BASE_URL", raising=False)
    work = tmp_path / "project" / "notebooks"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    return work


def _save(folder: Path, token: str, **extra: object) -> Path:
    # The shape `logfire read-tokens create --save` writes (logfire/_internal/cli: _save_read_token).
    path = folder / ".logfire" / "read_token.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "token": token,
        "base_url": "https://logfire-eu.pydantic.dev",
        "organization": "acme",
        "project_name": "shop",
        "expires_at": (datetime.now(timezone.utc) + timedelta(days=30)).isoformat(),
        **extra,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


@pytest.mark.parametrize(
    ("region", "url"),
    [
        ("us", "https://logfire-us.pydantic.dev"),
        ("eu", "https://logfire-eu.pydantic.dev"),
        ("stagingus", "https://logfire-us.pydantic.info"),
        ("stagingeu", "https://logfire-eu.pydantic.info"),
    ],
)
def test_base_url_follows_the_token_region(region: str, url: str) -> None:
    assert resolve_config(f"pylf_v1_{region}_{SECRET}").base_url == url


def test_token_without_region_is_a_us_token() -> None:
    assert resolve_config(SECRET).base_url == "https://logfire-us.pydantic.dev"


def test_unknown_region_warns_and_uses_us() -> None:
    with pytest.warns(ConfigWarning, match="'mars'.*US host"):
        config = resolve_config(f"pylf_v1_mars_{SECRET}")
    assert config.base_url == "https://logfire-us.pydantic.dev"


def test_local_token_needs_a_base_url_and_says_so() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_config(f"pylf_v1_local_{SECRET}")
    assert "LOGFIRE_BASE_URL" in str(info.value) and "base_url=" in str(info.value)
    assert "(e.g. http://127.0.0.1:8787, its default port)" in str(info.value)
    assert SECRET not in str(info.value)
    assert (
        resolve_config(f"pylf_v1_local_{SECRET}", "http://127.0.0.1:8000/").base_url
        == "http://127.0.0.1:8000"
    )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("127.0.0.1:8787", "'127.0.0.1:8787' has no scheme: write it with http:// or https://"),
        ("localhost:8787/", "e.g. LOGFIRE_BASE_URL=http://localhost:8787 for a local backend"),
        ("ftp://example.com", "starts with ftp://, but the Logfire API is reached over http:// or https://"),
    ],
)
def test_base_url_without_http_scheme_says_to_add_it(
    monkeypatch: pytest.MonkeyPatch, url: str, says: str
) -> None:
    monkeypatch.setenv("LOGFIRE_BASE_URL", url)
    with pytest.raises(ConfigError) as info:
        LogfireClient(f"pylf_v1_local_{SECRET}")
    assert says in str(info.value)
    assert SECRET not in str(info.value)
    assert resolve_config(f"pylf_v1_local_{SECRET}", "HTTPS://x.example/").base_url == "HTTPS://x.example"


def test_arguments_beat_environment_which_beats_the_token_file(
    monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    _save(clean_env, f"pylf_v1_eu_file{SECRET}")
    assert resolve_config().read_token == f"pylf_v1_eu_file{SECRET}"
    monkeypatch.setenv("LOGFIRE_READ_TOKEN", f"pylf_v1_us_env{SECRET}")
    monkeypatch.setenv("LOGFIRE_BASE_URL", "http://localhost:9999")
    config = resolve_config()
    assert (config.read_token, config.base_url, config.source) == (
        f"pylf_v1_us_env{SECRET}",
        "http://localhost:9999",
        "environment",
    )
    config = resolve_config(f"pylf_v1_eu_arg{SECRET}", "https://example.test")
    assert (config.read_token, config.base_url, config.source) == (
        f"pylf_v1_eu_arg{SECRET}",
        "https://example.test",
        "argument",
    )


def test_token_file_is_found_in_a_parent_folder_with_its_base_url(clean_env: Path) -> None:
    path = _save(clean_env.parent, f"pylf_v1_eu_{SECRET}", base_url="https://logfire-eu.example")
    config = resolve_config()
    assert config.read_token == f"pylf_v1_eu_{SECRET}"
    assert config.base_url == "https://logfire-eu.example"
    assert config.source == str(path.resolve())


def test_expired_token_file_says_to_create_a_new_one(clean_env: Path) -> None:
    _save(
        clean_env,
        f"pylf_v1_eu_{SECRET}",
        expires_at=(datetime.now(timezone.utc) - timedelta(days=1)).isoformat(),
    )
    with pytest.raises(ConfigError, match=r"expired.*logfire read-tokens create --save"):
        resolve_config()


def test_corrupt_token_file_names_the_file(clean_env: Path) -> None:
    path = clean_env / ".logfire" / "read_token.json"
    path.parent.mkdir()
    path.write_text("{not json")
    with pytest.raises(ConfigError, match=r"read_token\.json"):
        resolve_config()


def test_symlinked_token_file_is_refused(clean_env: Path, tmp_path: Path) -> None:
    target = _save(tmp_path / "elsewhere", f"pylf_v1_eu_{SECRET}")
    (clean_env / ".logfire").mkdir()
    os.symlink(target, clean_env / ".logfire" / "read_token.json")
    with pytest.raises(ConfigError, match="symlink"):
        resolve_config()


def test_no_token_anywhere_says_what_to_set_and_how_to_create_one() -> None:
    with pytest.raises(ConfigError) as info:
        LogfireClient()
    message = str(info.value)
    assert "LOGFIRE_READ_TOKEN" in message
    assert "logfire read-tokens create" in message
    assert "logfire-notebook token create" in message


def test_client_and_config_reprs_mask_the_token() -> None:
    token = f"pylf_v1_us_{SECRET}"
    client = LogfireClient(token)
    try:
        assert (
            repr(client)
            == "LogfireClient(read_token='pylf_v1_us_…', base_url='https://logfire-us.pydantic.dev')"
        )
        assert SECRET not in repr(resolve_config(token))
        assert SECRET not in repr(client.client) + repr(client.client.headers) + repr(vars(client))
    finally:
        client.close()
