"""The widgets' JavaScript and CSS travel to a page once, not with every widget.

anywidget sends `_esm` and `_css` (here ~160 KB) in every instance's first message and the page imports them
again each time. Our `_esm` is instead a small loader (`js/src/loader.ts`) carrying the bundle's content
hash: the page keeps the bundle it loaded under that hash, and a page that lacks it gets the two files once,
as binary buffers: in the first widget this process makes (its `_bundle` trait), or by a custom message that
any widget answers. So every widget after the first opens with a few kilobytes, in every host.
"""

from __future__ import annotations

import hashlib
import threading
from functools import cache
from pathlib import Path
from typing import Any

import anywidget
import traitlets

__all__ = ["BundledWidget"]

_STATIC = Path(__file__).parent / "static"
_HASH_MARK = "__LOGFIRE_NOTEBOOK_BUNDLE_HASH__"


@cache
def _files() -> tuple[bytes, bytes]:
    return (_STATIC / "widget.js").read_bytes(), (_STATIC / "widget.css").read_bytes()


def _hash() -> str:
    js, css = _files()
    return hashlib.sha256(js + b"\0" + css).hexdigest()[:20]


def _loader() -> str:
    return (_STATIC / "loader.js").read_text(encoding="utf-8").replace(_HASH_MARK, _hash())


_sent_lock = threading.Lock()
_sent = False  # whether a widget of this process has carried the bundle in its first message


def _carry_once() -> bool:
    global _sent
    with _sent_lock:
        first, _sent = not _sent, True
    return first


class BundledWidget(anywidget.AnyWidget):
    """An anywidget whose `_esm` is the loader: the bundle reaches a page once (see the module's note)."""

    _esm = _loader()

    layout = traitlets.Any(None, allow_none=True).tag(sync=True)
    """None, not ipywidgets' `Layout`: that is a widget of its own (a second comm, model and view per table)
    which the page builds before it shows the rows; nothing here styles it (the CSS sizes the table)."""

    _bundle = traitlets.Dict().tag(sync=True)
    """`{"hash", "js", "css"}` (the files as binary buffers) in the first widget of the process, else empty:
    the loader asks for them by message when the page has not seen them."""

    def __init__(self, **kwargs: Any) -> None:
        if _carry_once():
            js, css = _files()
            kwargs["_bundle"] = {"hash": _hash(), "js": js, "css": css}
        super().__init__(**kwargs)
        self.on_msg(self._on_bundle_request)

    def _on_bundle_request(self, _widget: Any, content: Any, _buffers: list[bytes]) -> None:
        if isinstance(content, dict) and content.get("type") == "bundle":
            self.send({"type": "bundle", "hash": _hash()}, list(_files()))
