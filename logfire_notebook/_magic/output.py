"""What a query cell shows: the result (widget or plain table), a footer line under a plain table (the widget
draws its own), a running timer."""

from __future__ import annotations

import html
import threading
import time
from types import TracebackType
from typing import Any

from logfire_notebook._footer import MAX_LIMIT, footer

__all__ = ["MAX_LIMIT", "ElapsedTimer", "footer", "is_kernel", "show_footer"]


def is_kernel(shell: Any) -> bool:
    """True in a Jupyter kernel (front end can show widgets), False in terminal IPython or a bare shell."""
    return type(shell).__name__ == "ZMQInteractiveShell" or any(
        cls.__name__ == "ZMQInteractiveShell" for cls in type(shell).__mro__
    )


def show_footer(text: str) -> None:
    from IPython.display import display as ipython_display

    display: Any = ipython_display

    bundle = {
        "text/plain": text,
        "text/html": f'<div class="logfire-footer" style="opacity:0.7;font-size:0.85em">{html.escape(text)}</div>',
    }
    display(bundle, raw=True)


class ElapsedTimer:
    """While a query runs, shows `Running… 3.2 s` (after the first second), updated; removed when done.

    A thread updates a display handle because the kernel's main thread is blocked in the HTTP request.
    """

    DELAY = 1.0
    INTERVAL = 0.5

    def __init__(self, enabled: bool, owns_output: bool = False) -> None:
        """`owns_output`: nothing else in the cell prints (a `%%logfire` cell), so clearing is safe."""
        self._enabled = enabled
        self._owns_output = owns_output
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._handle: Any = None
        self._start = 0.0

    def __enter__(self) -> ElapsedTimer:
        self._start = time.perf_counter()
        if self._enabled:
            self._thread = threading.Thread(target=self._run, name="logfire-elapsed", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self, etype: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._handle is None:
            return
        if self._owns_output:
            # The cell's only output so far: the result (or error) about to be shown replaces it.
            from IPython.display import clear_output

            clear_output(wait=True)  # type: ignore[no-untyped-call]
        else:
            # Other outputs of the cell stay; an empty update leaves no visible trace of the timer.
            self._handle.update({"text/plain": ""}, raw=True)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._start

    def _bundle(self) -> dict[str, str]:
        text = f"Running… {self.elapsed:.1f} s (interrupt the kernel to cancel)"
        return {"text/plain": text, "text/html": f'<div style="opacity:0.7">{html.escape(text)}</div>'}

    def _run(self) -> None:
        from IPython.display import display as ipython_display

        display: Any = ipython_display

        if self._stop.wait(self.DELAY):
            return
        self._handle = display(self._bundle(), raw=True, display_id=True)
        while not self._stop.wait(self.INTERVAL):
            self._handle.update(self._bundle(), raw=True)
