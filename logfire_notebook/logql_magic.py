"""`%%logql` and `%logql`: Grafana Loki's LogQL in IPython and Jupyter.

    %load_ext logfire_notebook

    %%logql errors << --since 2h --limit 500
    {service_name={service}} |= "error" | json

The result is a Polars DataFrame (or Arrow / pandas), assigned to `errors`, kept in `_`, and shown in the
LokiTable widget with the footer line, exactly as `%%logfire` does (the machinery is `QueryMagics`).
`{service}` is the notebook variable as a safe LogQL string. Defaults come from `%config LokiMagic.<setting>`;
the address and credentials from LOKI_ADDR, LOKI_ORG_ID, LOKI_USERNAME/LOKI_PASSWORD, LOKI_BEARER_TOKEN(_FILE),
as logcli reads them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from IPython.core.magic import line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, kwds, magic_arguments
from traitlets import Int, Unicode

from logfire_notebook._magic.base import QueryMagics, Ran
from logfire_notebook._magic.errors import MagicError
from logfire_notebook._magic.options import output_arguments

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import polars as pl
    import pyarrow as pa

    from logfire_notebook._loki.client import LokiClient
    from logfire_notebook._timerange import TimeRange

__all__ = ["LokiMagic"]

# Loki's default max_entries_limit_per_query; past it only --all helps.
MAX_LIMIT = 5_000
_USAGE = """%logql [VAR <<] [options]      (the LogQL in the cell below)
  %logql [VAR <<] [options] LOGQL"""


@magics_class
class LokiMagic(QueryMagics):
    """The `%%logql` magic; its traits are the `%config LokiMagic.<setting>` defaults."""

    magic_name = "logql"
    language = "LogQL"
    max_limit = MAX_LIMIT
    value_options = frozenset({"--since", "--until", "--limit", "--direction", "--step"})

    since = Unicode(
        "1h", help="Start of the time range when a cell gives no --since: '15m', '1h', '7d', 'now-2h' or ISO."
    ).tag(config=True)
    limit = Int(
        1000, help=f"Entries a log query returns at most unless --limit says otherwise (1 to {MAX_LIMIT:,})."
    ).tag(config=True)
    addr = Unicode(
        None, allow_none=True, help="Loki's address; None: LOKI_ADDR (else http://localhost:3100)."
    ).tag(config=True)
    org_id = Unicode(None, allow_none=True, help="Tenant sent as X-Scope-OrgID; None: LOKI_ORG_ID.").tag(
        config=True
    )
    direction = Unicode("backward", help="Order of log entries: 'backward' (newest first) or 'forward'.").tag(
        config=True
    )

    @magic_arguments()  # type: ignore[no-untyped-call,untyped-decorator]
    @kwds(usage=_USAGE.replace("%", "%%"))  # type: ignore[no-untyped-call,untyped-decorator]
    @argument(
        "--since", metavar="WHEN", help="start of the time range: 15m, 1h, 7d, now-2h, ISO (default 1h)"
    )  # type: ignore[no-untyped-call,untyped-decorator]
    @argument("--until", metavar="WHEN", help="end of the time range (default: now)")  # type: ignore[no-untyped-call,untyped-decorator]
    @argument(
        "--limit",
        metavar="N",
        type=int,
        help=f"return at most N log entries, up to {MAX_LIMIT:,} (default 1000)",
    )  # type: ignore[no-untyped-call,untyped-decorator]
    @argument(
        "--direction",
        choices=["backward", "forward"],
        help="newest first (backward, the default) or oldest first",
    )  # type: ignore[no-untyped-call,untyped-decorator]
    @argument("--step", metavar="STEP", help="a metric query's resolution: 1m, 30s, ... (default: Loki's)")  # type: ignore[no-untyped-call,untyped-decorator]
    @argument(
        "--all", action="store_true", help="fetch every entry, in batches past --limit, with a progress bar"
    )  # type: ignore[no-untyped-call,untyped-decorator]
    @argument(
        "--chart",
        action="store_true",
        help="open the widget on its chart (a metric query's series over time)",
    )  # type: ignore[no-untyped-call,untyped-decorator]
    @output_arguments("LokiTable")
    @line_cell_magic
    def logql(self, line: str, cell: str | None = None) -> None:
        """Run LogQL: `%%logql [VAR <<] [options]` with the query in the cell, or `%logql [options] LOGQL`.

        `VAR <<` assigns the result to VAR (it is shown too); `_` always holds it. `{name}` in the query is the
        notebook variable `name` as a safe LogQL string (no quotes around it; `{{`/`}}` are literal braces).
        Log queries give one row per entry (timestamp, line, labels, structured_metadata, parsed, level),
        metric queries one row per point (timestamp, value, labels).
        Defaults: `%config LokiMagic` (since, until, limit, addr, org_id, direction, show_widget, short_errors).
        """
        self._run(self.logql, line, cell)

    # -- what differs from other sources -----------------------------------------------------------------

    def _replace_parameters(self, text: str, namespace: Mapping[str, Any]) -> str:
        from logfire_notebook._loki.logql import substitute

        return substitute(text, namespace)

    def _direction(self, args: Any) -> str:
        direction = args.direction or self.direction
        if direction not in ("backward", "forward"):
            raise MagicError("LokiMagic.direction must be 'backward' or 'forward'.", "UsageError")
        return str(direction)

    def _fetch(
        self, client: LokiClient, text: str, time_range: TimeRange, limit: int, args: Any
    ) -> tuple[pa.Table | None, pl.DataFrame | None]:
        direction = self._direction(args)
        if args.all:
            return None, client.query_all(text, time_range=time_range, direction=direction, progress=None)
        table = client.query_range_arrow(
            text, limit=limit, direction=direction, step=args.step, time_range=time_range
        )
        from logfire_notebook._loki.client import to_polars

        # Converted here, not by the shared path: Loki's nanosecond times stay nanoseconds.
        return table, to_polars(table)

    def _widget(self, ran: Ran) -> Any:
        LokiTable = importlib.import_module("logfire_notebook.loki_widget").LokiTable
        return LokiTable(
            ran.text,
            since=ran.since,
            until=ran.until,
            limit=ran.limit,
            direction=self._direction(ran.args),
            client=ran.client,
            traces=self._traces(),
            data=ran.df,
            data_elapsed=ran.elapsed,
            all_rows=ran.args.all,  # each range picked is fetched whole too
        )

    def _traces(self) -> Any:
        """The `%logfire` magic's client (a `%logfire login` token, `LogfireMagic.base_url`), so a line's trace
        opens where `%%logfire` cells read; None when it has no token (the table then says what to set)."""
        logfire_magic = self.shell.magics_manager.registry.get("LogfireMagic") if self.shell else None
        if logfire_magic is None:
            return None
        try:
            return logfire_magic._client()
        except MagicError:
            return None

    def _settings_key(self) -> tuple[Any, ...]:
        return (self.addr, self.org_id)

    def _new_client(self) -> LokiClient:
        from logfire_notebook._loki.client import LokiClient

        return LokiClient(self.addr, org_id=self.org_id)

    def _config_hint(self, exc: BaseException) -> str:
        from logfire_notebook._magic.base import one_or_two_lines

        return (
            f"{one_or_two_lines(exc)}\nSet LOKI_ADDR (and LOKI_USERNAME/LOKI_PASSWORD or LOKI_BEARER_TOKEN) in the "
            "kernel's environment, or `%config LokiMagic.addr = 'http://...'`."
        )

    def _fetch_names(self, client: LokiClient) -> Mapping[str, Sequence[str]]:
        return {name: client.label_values(name) for name in client.labels()}
