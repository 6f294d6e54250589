"""`%%logfire` and `%logfire`: Logfire SQL in IPython and Jupyter.

    %load_ext logfire_notebook

    %%logfire errors << --since 2h --limit 500
    SELECT start_timestamp, service_name, message FROM records WHERE level >= 'error' AND service_name = {service}

The result is a Polars DataFrame (or Arrow / pandas with `--arrow` / `--pandas`), assigned to `errors`, kept in
`_`, and shown in the LogfireTable widget (a plain table in terminal IPython) with a footer line: rows, time,
time range and whether the row limit cut the result. `{service}` is the notebook variable as a safe literal.
Defaults are set with `%config LogfireMagic.<setting>`; the read token comes from LOGFIRE_READ_TOKEN or
Logfire's `.logfire/read_token.json`, or `%logfire login` (kept in the kernel process only).

This module must stay light: `%load_ext` imports it, so polars, pyarrow and httpx load on the first query.
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING, Any

from IPython.core.error import StdinNotImplementedError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, kwds, magic_arguments, parse_argstring
from traitlets import Bool, Int, Unicode

from logfire_notebook._magic.complete import Schemas, make_matcher, names_from_payload
from logfire_notebook._magic.errors import MagicError, install_handler, uninstall_handler
from logfire_notebook._magic.options import split_line
from logfire_notebook._magic.output import MAX_LIMIT, ElapsedTimer, footer, is_kernel, show_footer
from logfire_notebook._magic.trace import trace_label

if TYPE_CHECKING:
    from logfire_notebook._client import LogfireClient
    from logfire_notebook._timerange import TimeRange

# magic_arguments prints "%" before the first line.
_USAGE = """%logfire [VAR <<] [options]      (the SQL in the cell below)
  %logfire [VAR <<] [options] SQL
  %logfire login                    (enter a read token for this kernel)"""

__all__ = ["LogfireMagic", "load_ipython_extension", "unload_ipython_extension"]


@magics_class
class LogfireMagic(Magics):
    """The `%%logfire` magic; its traits are the `%config LogfireMagic.<setting>` defaults."""

    since = Unicode(
        "1d",
        help="Start of the time range when a cell gives no --since: '15m', '1h', '7d', 'now-2h' or an ISO time.",
    ).tag(config=True)
    until = Unicode(
        None,
        allow_none=True,
        help="End of the time range when a cell gives neither --since nor --until (None: now).",
    ).tag(config=True)
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
    short_errors = Bool(True, help="Show a failing query as one line; False: the full Python traceback.").tag(
        config=True
    )

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        # Magics.__init__ also appends the instance to shell.configurables, which is what %config reads.
        super().__init__(shell=shell, **kwargs)
        # The token entered with `%logfire login`: a plain attribute, not a trait, so %config never shows it.
        self._login_token: str | None = None
        self._client_obj: LogfireClient | None = None
        self._client_key: tuple[str | None, str | None] | None = None
        self._schemas: Schemas | None = None
        self._schemas_fetch: threading.Thread | None = None

    @property
    def _user_ns(self) -> dict[str, Any]:
        shell: Any = self.shell
        return shell.user_ns  # type: ignore[no-any-return]

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
        "--no-widget", action="store_true", help="show a plain table instead of the LogfireTable widget"
    )  # type: ignore[no-untyped-call,untyped-decorator]
    @argument(
        "--trace",
        metavar="TRACE_ID",
        help="show this trace as a waterfall of its spans (no SQL); the spans are the result",
    )  # type: ignore[no-untyped-call,untyped-decorator]
    @argument("--arrow", action="store_true", help="return a pyarrow.Table instead of a Polars DataFrame")  # type: ignore[no-untyped-call,untyped-decorator]
    @argument("--pandas", action="store_true", help="return a pandas DataFrame instead of a Polars DataFrame")  # type: ignore[no-untyped-call,untyped-decorator]
    @line_cell_magic
    def logfire(self, line: str, cell: str | None = None) -> None:
        """Run Logfire SQL: `%%logfire [VAR <<] [options]` with the SQL in the cell, or `%logfire [options] SQL`.

        `VAR <<` assigns the result to VAR (it is shown too); `_` always holds it. `{name}` in the SQL is the
        notebook variable `name` as a safe SQL literal (no quotes around it; `{{`/`}}` are literal braces).
        Defaults: `%config LogfireMagic` (since, until, limit, base_url, show_widget, short_errors).
        `%logfire login` asks for a read token and keeps it for this kernel only.
        """
        if cell is None and line.strip() == "login":
            self._login()
            return
        self._run(line, cell)

    # -- one query -------------------------------------------------------------------------------------

    def _run(self, line: str, cell: str | None) -> None:
        parts = split_line(line)
        args = parse_argstring(self.logfire, parts.options)  # type: ignore[no-untyped-call]
        if cell is not None and parts.sql:
            raise MagicError(
                f"`{parts.sql.split()[0]}` is not an option of %%logfire: the line takes options "
                "(see %%logfire?) and the SQL goes in the cell below it.",
                "UsageError",
            )
        sql = (cell if cell is not None else parts.sql).strip()
        if args.trace is not None:
            self._run_trace(parts.assign, args, sql)
            return
        if not sql:
            raise MagicError(
                "There is no SQL to run: write it in the cell under %%logfire, or after %logfire on the line.",
                "UsageError",
            )
        if args.arrow and args.pandas:
            raise MagicError("Choose one of --arrow and --pandas.", "UsageError")
        limit = self.limit if args.limit is None else args.limit
        if not args.all and not 1 <= limit <= MAX_LIMIT:
            # Checked here rather than by a trait validator: a bad %config value would otherwise stay in the
            # shell's config and stop the extension from loading again.
            source = "--limit" if args.limit is not None else "LogfireMagic.limit"
            raise MagicError(
                f"{source} must be between 1 and {MAX_LIMIT:,}; use --all for more rows.", "UsageError"
            )
        sql = self._substitute(sql)
        since = args.since or self.since
        until = args.until if (args.since or args.until) else self.until
        time_range = self._time_range(since, until)
        environment = args.env or None

        client = self._client()
        df, value, elapsed = self._query(client, sql, time_range, limit, environment, args, cell is not None)
        if parts.assign:
            self._user_ns[parts.assign] = value
        self._set_underscore(value)
        # After --all, the widget re-runs a changed range with the largest page rather than the default limit.
        widget_limit = MAX_LIMIT if args.all else limit
        self._show(value, df, sql, since, until, widget_limit, environment, client, args.no_widget)
        show_footer(footer(df.height, elapsed, time_range.label(), None if args.all else limit))

    def _run_trace(self, assign: str | None, args: Any, sql: str) -> None:
        """`%%logfire --trace ID`: one trace's spans, shown as a waterfall; the spans are the cell's result."""
        from logfire_notebook._magic.trace import fetch_trace

        # IPython refuses an empty cell under a cell magic: a `-- comment` may stand there instead.
        if any(line.strip() and not line.strip().startswith("--") for line in sql.splitlines()):
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
        from IPython.display import display as ipython_display

        display: Any = ipython_display
        display(trace if trace is not None else value)
        rows = f"{df.height:,} row{'' if df.height == 1 else 's'}"
        show_footer(f"{rows} · {elapsed:.2f} s · {time_range.label()} · trace {trace_label(args.trace)}")

    def _substitute(self, sql: str) -> str:
        from logfire_notebook._magic.params import ParameterError, substitute

        try:
            return substitute(sql, self._user_ns)
        except ParameterError as exc:
            raise MagicError(str(exc), "ParameterError") from None

    def _time_range(self, since: str, until: str | None) -> TimeRange:
        from logfire_notebook._timerange import TimeRange

        try:
            return TimeRange.parse(since, until).check_started()
        except (TypeError, ValueError) as exc:
            # TimeRangeError's message already lists what --since/--until accept.
            raise MagicError(str(exc), "TimeRangeError") from None

    def _query(
        self,
        client: LogfireClient,
        sql: str,
        time_range: TimeRange,
        limit: int,
        environment: list[str] | None,
        args: Any,
        owns_output: bool,
    ) -> tuple[Any, Any, float]:
        """Run the query; returns (polars DataFrame, the value for the user, seconds)."""
        from logfire_notebook._exceptions import AuthenticationError, ConfigError, LogfireError

        with ElapsedTimer(enabled=is_kernel(self.shell), owns_output=owns_output) as timer:
            try:
                if args.all:
                    # progress=None: the client's progress bar in a notebook, nothing in a terminal.
                    df = client.query_all(sql, time_range=time_range, environment=environment, progress=None)
                    table = None
                else:
                    table = client.query_arrow(
                        sql, limit=limit, environment=environment, time_range=time_range
                    )
                    df = None
            except KeyboardInterrupt:
                # The client closed the connection, so the server has stopped the query.
                raise MagicError("Interrupted: the query was cancelled.", "KeyboardInterrupt") from None
            except LogfireError as exc:
                if not self.short_errors:
                    raise
                hint = isinstance(exc, (ConfigError, AuthenticationError))
                message = _with_login_hint(exc) if hint else _one_or_two_lines(exc)
                raise MagicError(message, type(exc).__name__) from None
        if df is None:
            from logfire_notebook._polars import arrow_to_polars

            df = arrow_to_polars(table)
        if args.arrow:
            value: Any = table if table is not None else df.to_arrow()
        elif args.pandas:
            value = table.to_pandas() if table is not None else df.to_pandas()
        else:
            value = df
        return df, value, timer.elapsed

    def _set_underscore(self, value: Any) -> None:
        # Through the display hook, so `_`, `__`, `___` and Out[n] keep rotating as IPython does it.
        hook = getattr(self.shell, "displayhook", None)
        if hook is not None and hasattr(hook, "update_user_ns"):
            hook.update_user_ns(value)
        else:
            self._user_ns["_"] = value

    def _show(
        self,
        value: Any,
        df: Any,
        sql: str,
        since: str,
        until: str | None,
        limit: int | None,
        environment: list[str] | None,
        client: LogfireClient,
        no_widget: bool,
    ) -> None:
        from IPython.display import display as ipython_display

        display: Any = ipython_display

        if self.show_widget and not no_widget and is_kernel(self.shell):
            try:
                LogfireTable = importlib.import_module("logfire_notebook.widget").LogfireTable
            except ImportError:
                pass
            else:
                display(
                    LogfireTable(
                        sql=sql,
                        since=since,
                        until=until,
                        limit=limit,
                        environment=environment,
                        client=client,
                        data=df,
                    )
                )
                return
        display(value)

    # -- client and token ------------------------------------------------------------------------------

    def _client(self) -> LogfireClient:
        key = (self.base_url, self._login_token)
        if self._client_obj is not None and self._client_key == key:
            return self._client_obj
        from logfire_notebook._client import LogfireClient
        from logfire_notebook._exceptions import LogfireError

        if self._client_obj is not None:
            self._client_obj.close()
            self._client_obj = None
        try:
            self._client_obj = LogfireClient(read_token=self._login_token, base_url=self.base_url)
        except LogfireError as exc:
            raise MagicError(_with_login_hint(exc), type(exc).__name__) from None
        self._client_key = key
        # Another token or URL may see other tables: fetch the names again on the next Tab.
        self._schemas = None
        self._schemas_fetch = None
        return self._client_obj

    def _login(self) -> None:
        import getpass

        from logfire_notebook._exceptions import LogfireError

        try:
            token = getpass.getpass("Logfire read token: ").strip()
        except (EOFError, StdinNotImplementedError):
            raise MagicError(
                "This front end cannot ask for input: set LOGFIRE_READ_TOKEN in the kernel's environment instead.",
                "LoginError",
            ) from None
        if not token:
            raise MagicError("No token entered; nothing changed.", "LoginError")
        previous = self._login_token
        self._login_token = token
        try:
            client = self._client()
            info = client.info()
        except (LogfireError, MagicError) as exc:
            self._login_token = previous
            raise MagicError(f"That token was not accepted: {exc}", "LoginError") from None
        project = info.get("project_name")
        print(
            f"Token accepted: %%logfire cells in this kernel now query "
            f"{f'the project {project!r}' if project else 'its project'} at {client.base_url}. "
            "The token is kept in this kernel's memory only (not in the notebook, not on disk); "
            "restarting the kernel forgets it."
        )

    def completion_names(self) -> Schemas:
        """Table -> column names for completion: the backend's /v1/schemas, fetched once per kernel.

        The fetch runs in a thread so that Tab never waits on the network; until it has answered (or when it
        cannot, e.g. without a token) the built-in Logfire schema is used, which is usually the same.
        """
        if self._schemas is not None:
            return self._schemas
        if self._schemas_fetch is None:
            self._schemas_fetch = threading.Thread(
                target=self._fetch_schemas, name="logfire-schemas", daemon=True
            )
            self._schemas_fetch.start()
        from logfire_notebook._schema import TABLES

        return {name: [c.name for c in columns] for name, columns in TABLES.items()}

    def _fetch_schemas(self) -> None:
        try:
            self._schemas = names_from_payload(self._client().schemas())
        except Exception:
            # No token yet, or no backend: keep the built-in names; a later login or query allows a retry.
            self._schemas = None

    def close(self) -> None:
        if self._client_obj is not None:
            self._client_obj.close()
            self._client_obj = None


def _one_or_two_lines(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return "\n".join(lines[:2]) if lines else type(exc).__name__


def _with_login_hint(exc: BaseException) -> str:
    return f"{_one_or_two_lines(exc)}\nOr run `%logfire login` to enter a read token for this kernel only."


_loaded: dict[int, tuple[LogfireMagic, Any]] = {}


def load_ipython_extension(ipython: Any) -> None:
    magic = LogfireMagic(ipython)
    ipython.register_magics(magic)
    install_handler(ipython)
    matcher = make_matcher(magic.completion_names)
    completer = getattr(ipython, "Completer", None)
    if completer is not None:
        completer.custom_matchers.append(matcher)
    _loaded[id(ipython)] = (magic, matcher)


def unload_ipython_extension(ipython: Any) -> None:
    entry = _loaded.pop(id(ipython), None)
    if entry is None:
        return
    magic, matcher = entry
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop("logfire", None)
    completer = getattr(ipython, "Completer", None)
    if completer is not None and matcher in completer.custom_matchers:
        completer.custom_matchers.remove(matcher)
    if magic in ipython.configurables:
        ipython.configurables.remove(magic)
    uninstall_handler(ipython)
    magic.close()
