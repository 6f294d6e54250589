"""The IPython completion matcher (API v2) of a query magic's cell body, written once for every magic: it
answers only inside a `%%<magic>` cell below the magic line, and then replaces Python's completions (jedi's
names mean nothing in SQL or LogQL) with the language's own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Found", "cell_matcher"]

Found = tuple[str, list[tuple[str, str]]]
"""The fragment being completed, and (text, kind) suggestions in the order shown."""

_NOTHING: dict[str, Any] = {"completions": [], "suppress": False}


def cell_matcher(magic: str, complete: Callable[[list[str], Any], Found | None]) -> Callable[..., Any]:
    """A matcher for `IPCompleter.custom_matchers`. `complete(lines, context)` gets the cell's lines (line 0
    is the magic line) and IPython's completion context; None leaves completion to IPython."""
    from IPython.core.completer import SimpleCompletion, context_matcher

    def matcher(context: Any) -> dict[str, Any]:
        lines = context.full_text.split("\n")
        if not lines or not lines[0].lstrip().startswith(f"%%{magic}") or context.cursor_line == 0:
            return _NOTHING
        found = complete(lines, context)
        if found is None:
            return _NOTHING
        fragment, suggestions = found
        return {
            "completions": [SimpleCompletion(text, type=kind) for text, kind in suggestions],
            "matched_fragment": fragment,
            "suppress": True,
            "ordered": True,
        }

    # IPython tells matchers apart by their qualified name (read by the decorator): one per magic.
    matcher.__name__ = matcher.__qualname__ = f"{magic}_matcher"
    return context_matcher()(matcher)  # type: ignore[no-any-return]
