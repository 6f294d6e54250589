"""The tests keep IPython's, Jupyter's, marimo's and chromium's folders out of the user's home."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import _home


def test_ipython_jupyter_and_marimo_folders_are_temporary_in_this_process_and_its_children() -> None:
    home, test_home = Path.home(), _home.TEST_HOME
    assert test_home is not None
    program = (
        "from IPython.paths import get_ipython_dir; from jupyter_core.paths import jupyter_config_dir, "
        "jupyter_data_dir, jupyter_runtime_dir; from marimo._utils.xdg import marimo_config_path, "
        "xdg_cache_home\n"
        "for p in (get_ipython_dir(), jupyter_config_dir(), jupyter_data_dir(), jupyter_runtime_dir(), "
        "marimo_config_path(), xdg_cache_home()): print(p)"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    paths = [Path(line) for line in done.stdout.splitlines()]
    assert len(paths) == 6
    for path in paths:
        assert path.is_relative_to(test_home), path
        assert not path.is_relative_to(home) or home.is_relative_to(test_home), path
    assert set(_home.USER_DIRS) >= {"IPYTHONDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"}
