"""The tests' own user folders: IPython, Jupyter, marimo, chromium and caches write there, not into $HOME.

`isolate_user_dirs()` points the environment variables those programs read at one temporary folder, before
any of them starts; child processes (kernels, JupyterLab, marimo, chromium) inherit them.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

# Variable -> folder under the temporary home. XDG_* cover marimo (~/.config/marimo, ~/.cache/marimo),
# chromium (~/.config/chromium, ~/.cache), jedi's cache and dconf.
USER_DIRS = {
    "IPYTHONDIR": ".ipython",
    "JUPYTER_CONFIG_DIR": ".jupyter",
    "JUPYTER_DATA_DIR": ".local/share/jupyter",
    "JUPYTER_RUNTIME_DIR": ".local/share/jupyter/runtime",
    "XDG_CONFIG_HOME": ".config",
    "XDG_CACHE_HOME": ".cache",
    "XDG_DATA_HOME": ".local/share",
    "XDG_STATE_HOME": ".local/state",
    "MPLCONFIGDIR": ".config/matplotlib",
}

TEST_HOME: Path | None = None
"""The temporary home, once `isolate_user_dirs()` made it."""
ORIGINAL_ENV = dict(os.environ)
"""The environment before the redirection, for children that must see the user's own settings (pip's)."""


def isolate_user_dirs() -> Path:
    """Point the user folders at a fresh temporary home (removed at exit) and return it; once per process."""
    global TEST_HOME
    if TEST_HOME is not None:
        return TEST_HOME
    home = TEST_HOME = Path(tempfile.mkdtemp(prefix="logfire-notebook-tests-home-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    for variable, folder in USER_DIRS.items():
        path = home / folder
        path.mkdir(parents=True, exist_ok=True)
        os.environ[variable] = str(path)
    return home
