"""`QueryMagics`: the machinery every query magic shares (`%%logfire`, `%%logql`), written once.

A cell runs the same way for every source: split `VAR <<` and the options off the line, check them, put
`{name}` parameters in as safe literals, resolve the time range, run the query under the elapsed-time display
(Ctrl-C cancels it on the wire), assign `VAR` and `_`, show the widget (which draws its own footer, and to
whose newest result a picked range rebinds `VAR` and `_`) or a plain table and a footer line, and turn a
failure into one line. A subclass says only what differs: its options (IPython `@argument`s on its
magic method), its client, how a query is run and shown, and how parameters are quoted.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from IPython.core.magic import Magics
from IPython.core.magic_arguments import parse_argstring
from traitlets import Bool, Int, Unicode

from logfire_notebook._footer import limit_hint
from logfire_notebook._magic.errors import MagicError
from logfire_notebook._magic.follow import Follower
from logfire_notebook._magic.options import VALUE_OPTIONS, split_line
from logfire_notebook._magic.output import ElapsedTimer, footer, is_kernel, show_footer

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

    from logfire_notebook._timerange import TimeRange

__all__ = ["QueryMagics", "Ran", "one_or_two_lines"]


@dataclass(frozen=True)
class Ran:
    """A query a cell ran, as the widget for it needs it."""

    client: Any
    text: str
    """The query, its parameters already in."""
    since: str
    until: str | None
    limit: int
    args: Any
    """The parsed options of the line."""
    df: pl.DataFrame
    elapsed: float
    """Seconds the query took."""


class QueryMagics(Magics):
    """The shared part of a query magic; its traits are the `%config <Subclass>.<setting>` defaults."""

    magic_name: ClassVar[str] = ""
    """The magic's name without `%`, for messages."""
    language: ClassVar[str] = ""
    """What the cell holds, for messages: `SQL`, `LogQL`."""
    max_limit: ClassVar[int] = 10_000
    """The most rows one query returns; past it only --all helps."""
    value_options: ClassVar[frozenset[str]] = VALUE_OPTIONS
    """The options that take a value (to find where `%magic [options] QUERY` starts its query)."""

    since = Unicode(
        "1d",
        help="Start of the time range when a cell gives no --since: '15m', '1h', '7d', 'now-2h' or an ISO time.",
    ).tag(config=True)
    until = Unicode(
        None,
        allow_none=True,
        help="End of the time range when a cell gives neither --since nor --until (None: now).",
    ).tag(config=True)
    limit = Int(1000, help="Rows a query returns at most unless --limit says otherwise.").tag(config=True)
    show_widget = Bool(True, help="Show results in the table widget where the front end supports it.").tag(
        config=True
    )
    short_errors = Bool(True, help="Show a failing query as one line; False: the full Python traceback.").tag(
        config=True
    )
    follow_widget = Bool(
        True,
        help="A range picked in a result's widget rebinds VAR and `_` to the new rows (while they still hold the "
        "widget's previous result); False keeps the cell's first result.",
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        # Magics.__init__ also appends the instance to shell.configurables, which is what %config reads.
        super().__init__(shell=shell, **kwargs)
        self._client_obj: Any = None
        self._client_key: tuple[Any, ...] | None = None
        self._schemas: Mapping[str, Sequence[str]] | None = None
        self._schemas_fetch: threading.Thread | None = None

    @property
    def _user_ns(self) -> dict[str, Any]:
        shell: Any = self.shell
        return shell.user_ns  # type: ignore[no-any-return]

    # -- what a subclass says ----------------------------------------------------------------------------

    def _new_client(self) -> Any:
        """A client from the current settings (raises LogfireError when they are incomplete)."""
        raise NotImplementedError

    def _settings_key(self) -> tuple[Any, ...]:
        """What the client depends on: a new client is made when it changes."""
        raise NotImplementedError

    def _replace_parameters(self, text: str, namespace: Mapping[str, Any]) -> str:
        """`text` with its `{name}` parameters as safe literals of the language (raises ParameterError)."""
        raise NotImplementedError

    def _fetch(
        self, client: Any, text: str, time_range: TimeRange, limit: int, args: Any
    ) -> tuple[pa.Table | None, pl.DataFrame | None]:
        """Runs the query: an Arrow table, or (with --all) a DataFrame."""
        raise NotImplementedError

    def _widget(self, ran: Ran) -> Any:
        """The table widget for this result (None: show the plain value)."""
        raise NotImplementedError

    def _fetch_names(self, client: Any) -> Mapping[str, Sequence[str]]:
        """Names for completion, from the server."""
        raise NotImplementedError

    def _config_hint(self, exc: BaseException) -> str:
        """The message for a configuration or authentication failure."""
        return one_or_two_lines(exc)

    # -- one query -------------------------------------------------------------------------------------

    def _run(self, magic: Any, line: str, cell: str | None) -> None:
        """Runs one cell (or line) of `magic`, the decorated magic method whose options parse the line."""
        parts = split_line(line, self.value_options)
        args = parse_argstring(magic, parts.options)  # type: ignore[no-untyped-call]
        name, language = self.magic_name, self.language
        if cell is not None and parts.sql:
            raise MagicError(
                f"`{parts.sql.split()[0]}` is not an option of %%{name}: the line takes options "
                f"(see %%{name}?) and the {language} goes in the cell below it.",
                "UsageError",
            )
        text = (cell if cell is not None else parts.sql).strip()
        if not text:
            raise MagicError(
                f"There is no {language} to run: write it in the cell under %%{name}, or after %{name} on "
                "the line.",
                "UsageError",
            )
        if args.arrow and args.pandas:
            raise MagicError("Choose one of --arrow and --pandas.", "UsageError")
        limit = self.limit if args.limit is None else args.limit
        if not args.all and not 1 <= limit <= self.max_limit:
            # Checked here rather than by a trait validator: a bad %config value would otherwise stay in the
            # shell's config and stop the extension from loading again.
            source = "--limit" if args.limit is not None else f"{type(self).__name__}.limit"
            raise MagicError(
                f"{source} must be between 1 and {self.max_limit:,}; use --all for more rows.", "UsageError"
            )
        text = self._substitute(text)
        since = args.since or self.since
        until = args.until if (args.since or args.until) else self.until
        time_range = self._time_range(since, until)

        client = self._client()
        df, value, elapsed = self._query(client, text, time_range, limit, args, cell is not None)
        if parts.assign:
            self._user_ns[parts.assign] = value
        self._set_underscore(value)
        widget = self._show(value, Ran(client, text, since, until, limit, args, df, elapsed))
        if widget is None:
            # A widget draws its own footer, which follows the range picked in it.
            show_footer(
                footer(
                    df.height,
                    elapsed,
                    time_range.label(),
                    None if args.all else limit,
                    limit_hint(limit, self.max_limit),
                )
            )
        elif self.follow_widget:
            names = ("_", parts.assign) if parts.assign else ("_",)
            widget.on_result(Follower(self._user_ns, names, value, _converter(args)))

    def _substitute(self, text: str) -> str:
        from logfire_notebook._params import ParameterError

        try:
            return self._replace_parameters(text, self._user_ns)
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
        self, client: Any, text: str, time_range: TimeRange, limit: int, args: Any, owns_output: bool
    ) -> tuple[pl.DataFrame, Any, float]:
        """Runs the query; returns (polars DataFrame, the value for the user, seconds)."""
        from logfire_notebook._exceptions import AuthenticationError, ConfigError, LogfireError

        with ElapsedTimer(enabled=is_kernel(self.shell), owns_output=owns_output) as timer:
            try:
                table, df = self._fetch(client, text, time_range, limit, args)
            except KeyboardInterrupt:
                # The client closed the connection, so the server has stopped the query.
                raise MagicError("Interrupted: the query was cancelled.", "KeyboardInterrupt") from None
            except LogfireError as exc:
                if not self.short_errors:
                    raise
                hint = isinstance(exc, (ConfigError, AuthenticationError))
                message = self._config_hint(exc) if hint else one_or_two_lines(exc)
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

    def _show(self, value: Any, ran: Ran) -> Any:
        """Shows the result; returns the widget shown, or None for a plain table."""
        from IPython.display import display as ipython_display

        display: Any = ipython_display
        if self.show_widget and not ran.args.no_widget and is_kernel(self.shell):
            try:
                widget = self._widget(ran)
            except ImportError:  # no anywidget in this environment: the plain table
                widget = None
            if widget is not None:
                widget.limit_hint = limit_hint(ran.limit, self.max_limit)
                if getattr(ran.args, "chart", False):
                    widget.view_as = "chart"
                display(widget)
                return widget
        display(value)
        return None

    # -- client and completion ---------------------------------------------------------------------------

    def _client(self) -> Any:
        key = self._settings_key()
        if self._client_obj is not None and self._client_key == key:
            return self._client_obj
        from logfire_notebook._exceptions import LogfireError

        self.close()
        try:
            self._client_obj = self._new_client()
        except LogfireError as exc:
            raise MagicError(self._config_hint(exc), type(exc).__name__) from None
        self._client_key = key
        # Other credentials or another URL may see other names: fetch them again on the next Tab.
        self._schemas = None
        self._schemas_fetch = None
        return self._client_obj

    def _default_names(self) -> Mapping[str, Sequence[str]] | None:
        """Names to complete before (or without) the server's answer."""
        return None

    def completion_names(self) -> Mapping[str, Sequence[str]] | None:
        """Names for completion, fetched once per kernel (and per client settings).

        The fetch runs in a thread so that Tab never waits on the network; until it has answered (or when it
        cannot, e.g. without credentials) `_default_names()` is used.
        """
        if self._schemas is not None:
            return self._schemas
        if self._schemas_fetch is None:
            self._schemas_fetch = threading.Thread(
                target=self._fetch_completion_names, name=f"{self.magic_name}-names", daemon=True
            )
            self._schemas_fetch.start()
        return self._default_names()

    def _fetch_completion_names(self) -> None:
        try:
            self._schemas = self._fetch_names(self._client())
        except Exception:
            # No credentials yet, or no server: keep the defaults; a later login or query allows a retry.
            self._schemas = None

    def close(self) -> None:
        client, self._client_obj = self._client_obj, None
        if client is not None:
            client.close()


def _converter(args: Any) -> Any:
    """The widget's DataFrame as the type the cell returned (--arrow, --pandas or polars)."""
    if args.arrow:
        return lambda frame: frame.to_arrow()
    if args.pandas:
        return lambda frame: frame.to_pandas()
    return lambda frame: frame


def one_or_two_lines(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return "\n".join(lines[:2]) if lines else type(exc).__name__
