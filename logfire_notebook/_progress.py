"""Progress of a paged read: the caller's callback, or a small bar in a notebook.

The notebook bar is an HTML `<progress>` element (with a text/plain twin) shown through IPython's display
machinery and updated in place by its display id: no ipywidgets, nothing to install. It appears only once a
second page is needed, so single-page reads stay silent. Outside a notebook kernel nothing is shown.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from logfire_notebook._paging import PageProgress

__all__ = ["NotebookProgress", "progress_reporter"]

Reporter = Callable[[PageProgress], None]


def _in_notebook_kernel() -> bool:
    # Only look if IPython is already imported: importing it just to find out would be slow.
    ipython_module = sys.modules.get("IPython")
    if ipython_module is None:
        return False
    shell = ipython_module.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class NotebookProgress:
    """A progress bar updated in place in the notebook output."""

    def __init__(self) -> None:
        self._handle: Any = None

    def _bundle(self, p: PageProgress) -> dict[str, str]:
        pages = f"{p.pages} page{'' if p.pages == 1 else 's'}"
        if p.done:
            text = f"Fetched {p.rows:,} rows in {pages}."
        else:
            text = f"Fetched {p.rows:,} rows ({pages}, {p.fraction:.0%} of the time range)…"
        value = f"{p.fraction:.3f}"
        html = (
            f'<div style="font-size:12px"><progress value="{value}" max="1" style="width:240px;'
            f'vertical-align:middle"></progress> <span>{text}</span></div>'
        )
        return {"text/plain": text, "text/html": html}

    def __call__(self, p: PageProgress) -> None:
        from IPython.display import display

        if self._handle is None:
            if p.done and p.pages <= 1:
                return
            self._handle = display(self._bundle(p), raw=True, display_id=True)  # type: ignore[no-untyped-call]
        else:
            self._handle.update(self._bundle(p), raw=True)


@contextmanager
def progress_reporter(progress: Reporter | bool | None) -> Iterator[Reporter | None]:
    """The reporter for `query_all(progress=...)`: a callable as given, `None` -> a bar in notebooks, `False` -> none."""
    if callable(progress):
        yield progress
    elif progress in (None, True) and _in_notebook_kernel():
        yield NotebookProgress()
    else:
        yield None
