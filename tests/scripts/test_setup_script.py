"""`scripts/setup` a second time: nothing is reinstalled when the lock files did not change, and it is quiet."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from _home import ORIGINAL_ENV

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _installed() -> dict[Path, float]:
    """What `npm ci` and `pip install -e` rewrite, with its modification time."""
    dist_infos = list((ROOT / ".venv" / "lib").glob("python*/site-packages/logfire_notebook-*.dist-info"))
    watched = [ROOT / "node_modules" / ".package-lock.json", *dist_infos]
    return {path: path.stat().st_mtime for path in watched}


def _setup(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / "setup")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )


def test_a_second_setup_reinstalls_nothing_works_offline_and_says_nothing(tmp_path: Path) -> None:
    # The user's own environment (pip's config under ~/.config); a no-op when the checkout is set up.
    first = _setup(dict(ORIGINAL_ENV))
    assert first.returncode == 0, first.stderr
    before = _installed()
    assert len(before) == 2, before
    # No registry can answer: an `npm ci` or `pip install` would fail.
    offline = {
        **ORIGINAL_ENV,
        "npm_config_registry": "http://127.0.0.1:9/",
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_NO_INDEX": "1",
    }
    again = _setup(offline)
    assert again.returncode == 0, again.stderr
    assert _installed() == before
    assert again.stdout == "" and again.stderr == ""
    assert (ROOT / "logfire_notebook" / "static" / "widget.js").is_file()
