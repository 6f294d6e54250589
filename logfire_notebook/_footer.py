"""The footer line of a result: rows, query time, time range, and whether the row limit cut the result.

One wording for the three places a user reads it: the LogfireTable widget's footer (drawn in the browser by
js/src/footer.ts in the same words), the widget's text/plain (what a saved notebook shows where widgets do
not render) and the `%%logfire` magic's line under a plain table.
"""

from __future__ import annotations

__all__ = ["MAX_LIMIT", "footer", "limit_hint"]

# Longest page the query API returns; past it only --all helps.
MAX_LIMIT = 10_000


def limit_hint(limit: int, max_limit: int = MAX_LIMIT) -> str:
    """What the magic suggests when `limit` cut a result."""
    return "raise --limit or use --all" if limit < max_limit else "use --all"


def footer(rows: int, elapsed: float | None, range_label: str, limit: int | None, hint: str = "") -> str:
    """`1,204 rows · 0.31 s · Last 1 day`, plus a note when the row limit may have cut the result.

    `limit` None: the result was not cut (fetched in pages with --all, or a DataFrame shown as is).
    """
    parts = [f"{rows:,} row{'' if rows == 1 else 's'}"]
    if elapsed is not None:
        parts.append(f"{elapsed:.2f} s")
    parts.append(range_label)
    text = " · ".join(parts)
    if limit is not None and rows >= limit:
        text += f" · the limit of {limit:,} row{'' if limit == 1 else 's'} was reached, more rows may exist"
        if hint:
            text += f" ({hint})"
    return text
