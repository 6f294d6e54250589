"""Sources: the one part of the product that differs between stores (see DESIGN.md, "sources").

- `base`: the `Source` protocol the widget and the magic machinery are written against.
- `logfire`: Logfire SQL over `/v2/query` (`LogfireSource`).
- `loki`: LogQL over `/loki/api/v1/*` (`LokiSource`).
"""

from logfire_notebook._sources.base import Source, TimelineCounts

__all__ = ["Source", "TimelineCounts"]
