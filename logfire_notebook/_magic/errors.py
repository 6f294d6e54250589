"""Failures of a `%%logfire` cell shown as one or two lines, with the cell still counted as failed.

The magic raises `MagicError`; a custom exception handler registered with the shell (for this type only)
prints `Kind: message` instead of a traceback. Because the exception still leaves `run_cell` as an error,
the kernel replies `status: error` and "run all" (and nbclient) stops at the cell. `MagicError` is a
`UsageError` so that, should another extension replace the handler, IPython still shows it without a
traceback wall.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from IPython.core.error import UsageError

__all__ = ["MagicError", "install_handler", "uninstall_handler"]

_RED = "\x1b[0;31m"
_RESET = "\x1b[0m"


class MagicError(UsageError):
    """A cell failure for the user: `kind` names what failed (e.g. `QueryError`), `str()` says what to do."""

    def __new__(cls, message: str, kind: str = "LogfireError") -> MagicError:
        # The raised type is named after the kind (a subclass made once per kind), because the kernel's
        # execute reply, and so nbclient's CellExecutionError, names the error by its type.
        if cls is MagicError:
            cls = _named(kind)
        return super().__new__(cls, message)

    def __init__(self, message: str, kind: str = "LogfireError") -> None:
        super().__init__(message)
        self.kind = kind


def _show(
    shell: Any,
    etype: type[BaseException],
    value: BaseException,
    tb: TracebackType | None,
    tb_offset: Any = None,
) -> list[str]:
    kind = getattr(value, "kind", etype.__name__)
    stb = [f"{_RED}{kind}{_RESET}: {value}"]
    # run_code calls CustomTB but leaves showing it to the handler; _showtraceback sends the kernel's
    # `error` output (or prints, in a terminal) and records it as the cell's traceback.
    shell._showtraceback(etype, value, stb)
    return stb


_NAMED: dict[str, type[MagicError]] = {}


def _named(kind: str) -> type[MagicError]:
    if kind not in _NAMED:
        _NAMED[kind] = type(kind, (MagicError,), {"__module__": __name__})
    return _NAMED[kind]


def install_handler(shell: Any) -> bool:
    """Show `MagicError`s briefly; leaves another extension's handler alone (returns False then)."""
    if shell.custom_exceptions and shell.custom_exceptions != (MagicError,):
        return False
    shell.set_custom_exc((MagicError,), _show)
    return True


def uninstall_handler(shell: Any) -> None:
    if shell.custom_exceptions == (MagicError,):
        shell.set_custom_exc((), None)
