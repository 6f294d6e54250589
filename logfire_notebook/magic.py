"""`%%logfire` and `%logfire`: Logfire SQL in IPython and Jupyter.

    %load_ext logfire_notebook

    %%logfire errors << --since 2h --limit 500
    SELECT start_timestamp, service_name, message FROM records WHERE level >= 'error' AND service_name = {service}

The result is a Polars DataFrame (or Arrow / pandas with `--arrow` / `--pandas`), assigned to `errors`, kept in
`_`, and shown in the LogfireTable widget (a plain table in terminal IPython) with a footer line: rows, time,
time range and whether the row limit cut the result. A range picked in the widget rebinds `errors` and `_` to
its rows (`%config LogfireMagic.follow_widget = False` keeps the first result). `{service}` is the notebook
variable as a safe literal.
Defaults are set with `%config LogfireMagic.<setting>`; the read token comes from LOGFIRE_READ_TOKEN or
Logfire's `.logfire/read_token.json`, or `%logfire login` (kept in the kernel process only).

This module must stay light: `%load_ext` imports it, so polars, pyarrow and httpx load on the first query.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from IPython.core.error import StdinNotImplementedError
from IPython.core.magic import line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, kwds, magic_arguments, parse_argstring
from traitlets import Bool, Int, Unicode

from logfire_notebook._magic.base import QueryMagics, Ran, one_or_two_lines
from logfire_notebook._magic.complete import Schemas, make_matcher, names_from_payload
from logfire_notebook._magic.errors import MagicError, install_handler, uninstall_handler
from logfire_notebook._magic.options import output_arguments, split_line
from logfire_notebook._magic.output import MAX_LIMIT, is_kernel, show_footer

if TYPE_CHECKING:
    from collections.abc import Mapping

    import polars as pl
    import pyarrow as pa

    from logfire_notebook._client import LogfireClient
    from logfire_notebook._timerange import TimeRange

# magic_arguments prints "%" before the first line.
_USAGE = """%logfire [VAR <<] [options]      (the SQL in the cell below)
  %logfire [VAR <<] [options] SQL
  %logfire login                    (enter a read token for this kernel)"""

__all__ = ["LogfireMagic", "load_ipython_extension", "unload_ipython_extension"]


@magics_class
class LogfireMagic(QueryMagics):
    """The `%%logfire` magic; its traits are the `%config LogfireMagic.<setting>` defaults."""

    magic_name = "logfire"
    language = "SQL"
    max_limit = MAX_LIMIT

    limit = Int(
        1000, help=f"Rows a query returns at most unless --limit says otherwise (1 to {MAX_LIMIT:,})."
    ).tag(config=True)
    base_url = Unicode(
        None,
        allow_none=True,
        help="Logfire API URL; None: LOGFIRE_BASE_URL, else the region of the read token.",
    ).tag(config=True)
    show_widget = Bool(
        True, help="Show results in the LogfireTable widget where the front end supports it."
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        # The token entered with `%logfire login`: a plain attribute, not a trait, so %config never shows it.
        self._login_token: str | None = None

    @magic_arguments()  # type: ignore[no-untyped-call,untyped-decorator]
    @kwds(usage=_USAGE.replace("%", "%%"))  # type: ignore[no-untyped-call,untyped-decorator]
    @argument(
        "--since",
        metavar="WHEN",
        help="start of the time range: 15m, 1h, 7d, now-2h, an ISO time (default 1d)",
    )  # type: ignore[no-untyped-call,untyped-decorator]
    @argument("--until", metavar="WHEN", help="end of the time range (default: now)")  # type: ignore[no-untyped-call,untyped-decorator]
    @argument(
        "--limit", metavar="N", type=int, help=f"return at most N rows, up to {MAX_LIMIT:,} (default 1000)"
    )  # type: ignore[no-untyped-call,untyped-decorator]
    @argument(
        "--env", metavar="NAME", action="append", help="only this deployment environment (repeat for several)"
    )  # type: ignore[no-untyped-call,untyped-decorator]
    @argument(
        "--all",
        action="store_true",
        help=f"fetch every row, in pages past {MAX_LIMIT:,}, with a progress bar",
    )  # type: ignore[no-untyped-call,untyped-decorator]
    @argument(
        "--chart",
        action="store_true",
        help="open the widget on its chart (a time column and numeric columns)",
    )  # type: ignore[no-untyped-call,untyped-decorator]
    @argument(
        "--trace",
        metavar="TRACE_ID",
        help="show this trace as a waterfall of its spans (no SQL); the spans are the result",
    )  # type: ignore[no-untyped-call,untyped-decorator]
    @output_arguments("LogfireTable")
    @line_cell_magic
    def logfire(self, line: str, cell: str | None = None) -> None:
        """Run Logfire SQL: `%%logfire [VAR <<] [options]` with the SQL in the cell, or `%logfire [options] SQL`.

        `VAR <<` assigns the result to VAR (it is shown too); `_` always holds it. A range picked in the widget
        (quick range, From/To, a drag on the timeline) runs the query again and rebinds VAR and `_` to the rows
        it shows, so they are always what is on screen; `%config LogfireMagic.follow_widget = False` keeps the
        first result instead. `{name}` in the SQL is the
        notebook variable `name` as a safe SQL literal (no quotes around it; `{{`/`}}` are literal braces).
        Defaults: `%config LogfireMagic` (since, until, limit, base_url, show_widget, short_errors,
        follow_widget).
        `%logfire login` asks for a read token and keeps it for this kernel only.
        """
        if cell is None and line.strip() == "login":
            self._login()
            return
        if "--trace" in line:
            parts = split_line(line, self.value_options)
            args = parse_argstring(self.logfire, parts.options)  # type: ignore[no-untyped-call]
            if args.trace is not None:
                self._run_trace(parts.assign, args, cell if cell is not None else parts.sql)
                return
        self._run(self.logfire, line, cell)

    def _run_trace(self, assign: str | None, args: Any, text: str) -> None:
        """`%%logfire --trace ID`: one trace's spans, shown as a waterfall; the spans are the cell's result."""
        from IPython.display import display as ipython_display

        from logfire_notebook._magic.trace import fetch_trace, trace_label

        # IPython refuses an empty cell under a cell magic: a `-- comment` may stand there instead.
        if any(line.strip() and not line.strip().startswith("--") for line in text.splitlines()):
            raise MagicError(
                "--trace takes no SQL: leave only a `-- comment` in the cell, or drop --trace to run the query.",
                "UsageError",
            )
        # Without --since/--until the trace is looked for over the last 7 days, not the magic's default day.
        since = args.since or ("7d" if not args.until else self.since)
        time_range = self._time_range(since, args.until)
        show = self.show_widget and not args.no_widget and is_kernel(self.shell)
        trace, df, elapsed = fetch_trace(self._client(), args.trace, time_range, args.env or None, show)
        value: Any = df.to_arrow() if args.arrow else df.to_pandas() if args.pandas else df
        if assign:
            self._user_ns[assign] = value
        self._set_underscore(value)
        display: Any = ipython_display
        display(trace if trace is not None else value)
        rows = f"{df.height:,} row{'' if df.height == 1 else 's'}"
        show_footer(f"{rows} · {elapsed:.2f} s · {time_range.label()} · trace {trace_label(args.trace)}")

    # -- what differs from other sources -----------------------------------------------------------------

    def _replace_parameters(self, text: str, namespace: Mapping[str, Any]) -> str:
        from logfire_notebook._magic.params import substitute

        return substitute(text, namespace)

    def _fetch(
        self, client: LogfireClient, text: str, time_range: TimeRange, limit: int, args: Any
    ) -> tuple[pa.Table | None, pl.DataFrame | None]:
        environment = args.env or None
        if args.all:
            # progress=None: the client's progress bar in a notebook, nothing in a terminal.
            return None, client.query_all(text, time_range=time_range, environment=environment, progress=None)
        return client.query_arrow(text, limit=limit, environment=environment, time_range=time_range), None

    def _widget(self, ran: Ran) -> Any:
        LogfireTable = importlib.import_module("logfire_notebook.widget").LogfireTable
        return LogfireTable(
            sql=ran.text,
            since=ran.since,
            until=ran.until,
            limit=ran.limit,
            environment=ran.args.env or None,
            client=ran.client,
            data=ran.df,
            data_elapsed=ran.elapsed,
            all_rows=ran.args.all,  # each range picked is fetched whole too, and no limit is claimed
        )

    def _settings_key(self) -> tuple[Any, ...]:
        return (self.base_url, self._login_token)

    def _new_client(self) -> LogfireClient:
        from logfire_notebook._client import LogfireClient

        return LogfireClient(read_token=self._login_token, base_url=self.base_url)

    def _config_hint(self, exc: BaseException) -> str:
        return f"{one_or_two_lines(exc)}\nOr run `%logfire login` to enter a read token for this kernel only."

    def _login(self) -> None:
        # The entered token lives only in `_adopt_token`'s frame, which always returns normally: a frame that
        # raises is kept in the traceback, and traceback printers that show locals would print the token.
        failure, project = self._adopt_token(self._ask_token())
        if failure is not None:
            raise MagicError(f"That token was not accepted: {failure}", "LoginError")
        print(
            f"Token accepted: %%logfire cells in this kernel now query "
            f"{f'the project {project!r}' if project else 'its project'} at {self._client().base_url}. "
            "The token is kept in this kernel's memory only (not in the notebook, not on disk); "
            "restarting the kernel forgets it."
        )

    @staticmethod
    def _ask_token() -> str:
        import getpass

        try:
            entered = getpass.getpass("Logfire read token: ").strip()
        except (EOFError, StdinNotImplementedError):
            raise MagicError(
                "This front end cannot ask for input: set LOGFIRE_READ_TOKEN in the kernel's environment instead.",
                "LoginError",
            ) from None
        if not entered:
            raise MagicError("No token entered; nothing changed.", "LoginError")
        return entered

    def _adopt_token(self, token: str) -> tuple[str | None, str | None]:
        """Keeps `token` if the server accepts it: (None, project name), else (why not, None) and the
        previous token stays. Never raises (see `_login`)."""
        previous = self._login_token
        self._login_token = token
        try:
            info = self._client().info()
        except Exception as exc:
            self._login_token = previous
            return one_or_two_lines(exc), None
        project = info.get("project_name")
        return None, str(project) if project else None

    def _fetch_names(self, client: LogfireClient) -> Schemas:
        return names_from_payload(client.schemas())

    def _default_names(self) -> Schemas:
        """The built-in Logfire schema, which is usually what the server has."""
        from logfire_notebook._schema import TABLES

        return {name: [c.name for c in columns] for name, columns in TABLES.items()}

    def completion_names(self) -> Schemas:
        """Table -> column names for completion: the backend's /v1/schemas, fetched once per kernel.

        The fetch runs in a thread so that Tab never waits on the network; until it has answered (or when it
        cannot, e.g. without a token) the built-in Logfire schema is used, which is usually the same.
        """
        return super().completion_names() or self._default_names()


_loaded: dict[int, list[tuple[Any, Any, str]]] = {}


def load_ipython_extension(ipython: Any) -> None:
    from logfire_notebook._magic.complete_logql import make_logql_matcher
    from logfire_notebook.logql_magic import LokiMagic

    install_handler(ipython)
    completer = getattr(ipython, "Completer", None)
    entries = []
    logfire = LogfireMagic(ipython)
    loki = LokiMagic(ipython)
    for magic, matcher, name in (
        (logfire, make_matcher(logfire.completion_names), "logfire"),
        (loki, make_logql_matcher(loki.completion_names), "logql"),
    ):
        ipython.register_magics(magic)
        if completer is not None:
            completer.custom_matchers.append(matcher)
        entries.append((magic, matcher, name))
    _loaded[id(ipython)] = entries


def unload_ipython_extension(ipython: Any) -> None:
    entries = _loaded.pop(id(ipython), None)
    if entries is None:
        return
    completer = getattr(ipython, "Completer", None)
    for magic, matcher, name in entries:
        for kind in ("line", "cell"):
            ipython.magics_manager.magics[kind].pop(name, None)
        if completer is not None and matcher in completer.custom_matchers:
            completer.custom_matchers.remove(matcher)
        if magic in ipython.configurables:
            ipython.configurables.remove(magic)
        magic.close()
    uninstall_handler(ipython)
