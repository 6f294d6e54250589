"""A LogQL pipeline as DuckDB SQL, so `| json`, `| logfmt`, label filters, `keep`/`drop` and `| unwrap` run
vectorised over `store.loki_entries` instead of one line at a time in Python (`pipeline.py`).

`compile_pipeline` follows the stages symbolically: every label is an SQL expression over the row's `line`,
`metadata` and `stream_id` (NULL where the entry does not have it), and so is `__error__`. The answer is
exact for every row except those `unsure` marks: lines where DuckDB's JSON reader or RE2 could read the line
differently from the Python pipeline (escapes, NaN, trailing commas, keys Loki renames, duplicate keys,
non-ASCII spaces, numbers written in forms SQL does not convert). Callers send those rows through the Python
pipeline, so both ways give the same answer. A stage SQL cannot express (templates, `regexp`/`pattern`,
`unpack`, `ip()`, a line filter after a line rewrite) makes `compile_pipeline` return None: all Python.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from logfire_notebook.server.loki import syntax as s
from logfire_notebook.server.loki.jsonshape import DEEP_SQL, ODD_KEY, ODD_SYNTAX
from logfire_notebook.server.loki.pipeline import ERROR, ERROR_DETAILS, json_path
from logfire_notebook.server.loki.storage import sql_string

__all__ = ["ENABLED", "SqlPipeline", "compile_pipeline"]

ENABLED = True
"""Off, every pipeline runs in Python (the equivalence tests compare both ways)."""

NULL = "NULL::VARCHAR"
MAX_SQL_CHARS = 60_000
"""Past this the pipeline runs in Python: deep and/or nesting must not make an unbounded statement."""

# Python's `\s` and str.isspace() know these; RE2's `\s` does not.
_ODD_SPACE = r"[\x0b\x1c-\x1f\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
_LOGFMT_TOKEN = r'\s*([^\s=]+)(?:=("(?:[^"\\]|\\.)*"|[^\s"]*))?'

_NUMBER = r"[+-]?([0-9]{1,20}\.?[0-9]{0,20}|\.[0-9]{1,20})([eE][+-]?[0-9]{1,2})?"
_DURATION = r"[+-]?([0-9]{1,9}(\.[0-9]{1,6})?|\.[0-9]{1,6})(ns|us|µs|μs|ms|s|m|h|d|w|y)|[+-]?0"
_BYTES = r"([0-9]{1,20}\.?[0-9]{0,20}|\.[0-9]{1,20})([kmgtpeKMGTPE]?)([iI]?)([bB]?)"
_DURATION_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 10**6, "s": 10**9}
_DURATION_NS |= {"m": 60 * 10**9, "h": 3600 * 10**9, "d": 86400 * 10**9, "w": 7 * 86400 * 10**9}
_DURATION_NS |= {"y": 365 * 86400 * 10**9}
_SQL_OPS = {"==": "=", "!=": "<>", ">": ">", ">=": ">=", "<": "<", "<=": "<="}


class _Unsupported(Exception):
    """The pipeline has something SQL cannot follow exactly; it runs in Python."""


@dataclass(frozen=True)
class _Val:
    text: str  # VARCHAR; NULL when the entry has no such label
    fuzzy: str | None = None  # rows whose `text` may be written differently (the same number) than Python's
    numeric: str | None = (
        None  # rows whose `text` is a JSON number as DuckDB wrote it (a plain cast reads it)
    )


@dataclass
class SqlPipeline:
    """SQL expressions over one row of `store.loki_entries`."""

    keep: str  # BOOLEAN: the entry passes the pipeline (exact where `unsure` is false)
    error: str  # VARCHAR: `__error__` at the end, NULL for none
    unsure: str  # BOOLEAN: the Python pipeline must decide this row
    unsure_kept: str  # BOOLEAN: ... when `keep` holds (the series labels' text: it does not change `keep`)
    labels: dict[str, str]  # VARCHAR per asked label at the end, NULL when absent
    value: str | None  # DOUBLE: the unwrapped sample, with `| unwrap`
    layers: list[dict[str, str]]  # columns computed once per row (a parsed line), each layer on the last

    def frame(self, rows: str) -> str:
        """The SQL `rows` (a SELECT of `store.loki_entries` columns) with the pipeline's columns added;
        the expressions above read those columns."""
        for layer in self.layers:
            if layer:
                rows = (
                    f"SELECT *, {', '.join(f'{sql} AS {name}' for name, sql in layer.items())} FROM ({rows})"
                )
        return rows


def compile_pipeline(
    stages: Sequence[s.Stage],
    streams: dict[int, dict[str, str]],
    has_metadata: bool,
    wanted: Sequence[str] = (),
) -> SqlPipeline | None:
    """The pipeline `stages` (after the pushed-down line filters) over entries of `streams`, with the end
    value of each `wanted` label; None when SQL cannot follow it."""
    if not ENABLED:
        return None
    state = _State(streams, has_metadata)
    try:
        for stage in stages:
            state.apply(stage)
        labels = {name: _text(state, state.label(name), state.unsure_kept) for name in wanted}
        for finish in state.finishers:
            finish()
    except _Unsupported:
        return None
    out = SqlPipeline(
        keep=_all(state.keep),
        error=state.err,
        unsure=_any(state.unsure),
        unsure_kept=_any(state.unsure_kept),
        labels=labels,
        value=state.value,
        layers=[state.parsed_lines, state.extracted, state.texts, state.checks],
    )
    size = len(out.keep) + len(out.error) + len(out.unsure) + sum(map(len, labels.values()))
    return out if size <= MAX_SQL_CHARS else None


# No coalesce(..., false) around each condition: every reader takes NULL for false (WHERE, CASE WHEN,
# FILTER), and a NULL operand of AND/OR only ever turns a false answer into NULL.
def _all(conds: list[str]) -> str:
    return "(" + " AND ".join(conds) + ")" if conds else "true"


def _any(conds: list[str]) -> str:
    unique = list(dict.fromkeys(conds))  # a label read twice adds its checks twice
    return "(" + " OR ".join(unique) + ")" if unique else "false"


def _text(state: _State, val: _Val, unsure: list[str] | None = None) -> str:
    """A label's text where it must be exact (a series label, a string match): fuzzy rows go to Python."""
    if val.fuzzy is not None:
        (state.unsure if unsure is None else unsure).append(val.fuzzy)
    return val.text


Resolver = Callable[[str], _Val]


@dataclass
class _JsonJob:
    """What one `| json` stage reads: its columns (the values found, the line is an object), the paths asked,
    and the keys a repeat of which would change a value."""

    found: str
    obj: str
    paths: list[str] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    odd_keys: bool = False
    line_checks: list[str] = field(default_factory=list)


class _State:
    def __init__(self, streams: dict[int, dict[str, str]], has_metadata: bool) -> None:
        self.streams = streams
        self.has_metadata = has_metadata
        self.err = NULL
        self.keep: list[str] = []
        self.unsure: list[str] = []
        self.unsure_kept: list[str] = []
        self.value: str | None = None
        self.resolve: Resolver = self._base
        # Columns: what each parser reads off the line, parsed once (DuckDB re-parses JSON in every call).
        self.parsed_lines: dict[str, str] = {}
        self.extracted: dict[str, str] = {}
        self.texts: dict[str, str] = {}
        self.checks: dict[str, str] = {}  # conditions on the texts
        self.finishers: list[Callable[[], None]] = []  # run once every label is resolved

    def text_column(self, sql: str) -> str:
        """A label's text as a column of its own (it is read by several conditions)."""
        for name, known in self.texts.items():
            if known == sql:
                return name
        return self.column(self.texts, sql)

    def column(self, layer: dict[str, str], sql: str) -> str:
        name = f"_lq{sum(map(len, (self.parsed_lines, self.extracted, self.texts, self.checks)))}"
        layer[name] = sql
        return name

    def label(self, name: str) -> _Val:
        if name == ERROR:
            return _Val(self.err)
        if name == ERROR_DETAILS:
            raise _Unsupported  # Python's messages
        return self.resolve(name)

    # ---- where labels come from ----

    def _base(self, name: str) -> _Val:
        stream = self._stream_label(name)
        if not self.has_metadata:
            return _Val(stream)
        return _Val(f"coalesce(json_extract_string(metadata, {sql_string(_path([name]))}), {stream})")

    def _stream_label(self, name: str) -> str:
        by_value: dict[str, list[int]] = {}
        for sid, labels in self.streams.items():
            if name in labels:
                by_value.setdefault(labels[name], []).append(sid)
        if not by_value:
            return NULL
        if len(by_value) == 1 and len(next(iter(by_value.values()))) == len(self.streams):
            return sql_string(next(iter(by_value)))
        whens = " ".join(f"WHEN {_in(sids)} THEN {sql_string(v)}" for v, sids in by_value.items())
        return f"(CASE {whens} END)"

    def _parsed_layer(self, parsed: Callable[[str], _Val]) -> None:
        """After a parser: a parsed name that is also a stream label becomes `<name>_extracted`."""
        before = self.resolve
        streams = self.streams

        def resolve(name: str) -> _Val:
            old = before(name)
            if name.endswith("_extracted"):
                return self._renamed(name, old, parsed)
            clashing = [sid for sid, labels in streams.items() if name in labels]
            if len(clashing) == len(streams):
                return old
            new = parsed(name)
            text = new.text if old.text == NULL else f"coalesce({new.text}, {old.text})"
            numeric = (
                new.numeric
                if old.text == NULL or new.numeric is None
                else f"({new.text} IS NOT NULL AND {new.numeric})"
            )
            if clashing:
                text = f"(CASE WHEN {_in(clashing)} THEN {old.text} ELSE {text} END)"
                numeric = None
            return _Val(text, _either(new.fuzzy, old.fuzzy), numeric)

        self.resolve = resolve

    def _renamed(self, name: str, old: _Val, parsed: Callable[[str], _Val]) -> _Val:
        """`<x>_extracted` after a parser: the parsed `x` in streams that have a label `x`, else a parsed name
        `<x>_extracted` itself; a line with both in a stream with `x` is for Python (the later key wins)."""
        base = name.removesuffix("_extracted")
        if not base or any(name in labels for labels in self.streams.values()):
            raise _Unsupported  # the parsed `<x>_extracted` would be renamed again
        own = parsed(name)
        clashing = [sid for sid, labels in self.streams.items() if base in labels]
        if clashing:
            moved = parsed(base)
            where = _in(clashing)
            self.unsure.append(f"({where} AND {moved.text} IS NOT NULL AND {own.text} IS NOT NULL)")
            new = _Val(
                f"(CASE WHEN {where} THEN coalesce({moved.text}, {own.text}) ELSE {own.text} END)",
                _either(own.fuzzy, moved.fuzzy),
            )
        else:
            new = own
        text = new.text if old.text == NULL else f"coalesce({new.text}, {old.text})"
        numeric = new.numeric if old.text == NULL else None
        return _Val(text, _either(new.fuzzy, old.fuzzy), numeric)

    # ---- stages ----

    def apply(self, stage: s.Stage) -> None:
        if isinstance(stage, s.JsonParser):
            self._json(stage)
        elif isinstance(stage, s.LogfmtParser) and not stage.strict:
            self._logfmt(stage)
        elif isinstance(stage, s.LabelFilter):
            cond, self.err = self._filter(stage.expr, self.err)
            self.keep.append(cond)
        elif isinstance(stage, s.Keep):
            self._keep(stage)
        elif isinstance(stage, s.Drop):
            self._drop(stage)
        elif isinstance(stage, s.Unwrap):
            self._unwrap(stage)
        else:
            raise _Unsupported

    def _json(self, stage: s.JsonParser) -> None:
        # One parse per line for every path asked (a list of values; NULL when DuckDB refuses the line). The
        # paths are known once every label has been resolved: `_finish_json` writes the column then.
        first = self.column(self.parsed_lines, "ascii(line)")
        found = self.column(self.parsed_lines, "")
        obj = self.column(self.extracted, "")
        job = _JsonJob(found, obj)
        self.finishers.append(lambda: self._finish_json(job))
        failed = f"(CASE WHEN NOT {obj} THEN 'JSONParserErr' END)"
        self.err = failed if self.err == NULL else f"coalesce({self.err}, {failed})"
        # Lines opening with a space are for Python (`ascii(line) = 123` tells an object here), and so is a
        # line DuckDB refuses that opens like an object (1E400 deep inside, say), or nests past Python's depth.
        job.line_checks.append(f"{first} IN (9, 10, 13, 32)")
        self.unsure += [f"(NOT {obj} AND {first} = 123)", DEEP_SQL]
        extracted: dict[str, str] = {}

        def value_at(parts: Sequence[str | int]) -> str:
            """A column with the JSON text of the value at `parts`."""
            path = _path(parts)
            if path not in extracted:
                job.paths.append(path)
                extracted[path] = self.column(self.extracted, f"{found}[{len(job.paths)}]::VARCHAR")
            job.keys.update(p for p in parts if isinstance(p, str))
            return extracted[path]

        if stage.fields:
            fields = {}
            for label, path in stage.fields:
                parts = json_path(path if path is not None else label)
                if any(isinstance(p, str) and ('"' in p or "\\" in p) for p in parts):
                    raise _Unsupported
                fields[label] = parts
            self._parsed_layer(
                lambda name: self._json_field(value_at(fields[name])) if name in fields else _Val(NULL)
            )
        else:
            self._parsed_layer(lambda name: self._json_flat(value_at, job, name))

    def _finish_json(self, job: _JsonJob) -> None:
        if job.paths:
            paths = ", ".join(sql_string(p) for p in job.paths)
            # try(): a line DuckDB refuses is NULL, not a failed query.
            self.parsed_lines[job.found] = (
                f"(CASE WHEN ascii(line) = 123 THEN try(json_extract(line, [{paths}])) END)"
            )
            self.extracted[job.obj] = f"({job.found} IS NOT NULL)"
        else:
            self.parsed_lines[job.found] = "(ascii(line) = 123 AND json_valid(line))"
            self.extracted[job.obj] = job.found
        # What DuckDB reads but Python refuses or reads otherwise, found in one pass over the line: trailing
        # commas, NaN and Infinity in any case, a key that may repeat (Python keeps the last, DuckDB the
        # first), a key Loki renames. \u escapes (keys spelled with them, surrogates) are for Python too.
        alternatives = [ODD_SYNTAX]
        alternatives += [f'"{_re2_literal(k)}"(?s:.*)"{_re2_literal(k)}"' for k in sorted(job.keys)]
        if job.odd_keys:
            alternatives.append(ODD_KEY)
        pattern = sql_string("|".join(alternatives))
        job.line_checks.append(f"({job.obj} AND (contains(line, '\\u') OR regexp_matches(line, {pattern})))")
        # A line found plain when it was stored (jsonshape.py) passes these: only the others are read.
        self.unsure.append(f"(json_plain IS NOT TRUE AND ({' OR '.join(job.line_checks)}))")

    def _json_field(self, value: str) -> _Val:
        # Objects and arrays come back re-serialised by Python; that text is for Python to write.
        self.unsure.append(f"(ascii({value}) IN (123, 91))")
        text = self.text_column(
            f"(CASE WHEN {value} = 'null' THEN NULL WHEN ascii({value}) = 34 THEN {_unquoted(value)} ELSE {value} END)"
        )
        numeric = self.text_column(_is_number(value))
        return _Val(text, _number_fuzzy(value, numeric), numeric)

    def _json_flat(self, value_at: Callable[[Sequence[str | int]], str], job: _JsonJob, name: str) -> _Val:
        """The label `name` after flattening: nested keys joined with `_`. Every way of splitting `name` at
        its underscores is a candidate path; a line holding more than one of them is left to Python."""
        if not name or name[0].isdigit() or name.count("_") > 5:
            raise _Unsupported
        if "_" in name:
            # A key Loki renames (odd characters, a leading digit, empty) always gives a name with `_`.
            job.odd_keys = True
        cuts = [i for i, ch in enumerate(name) if ch == "_"]
        values, shown = [], []
        for n in range(len(cuts) + 1):
            for chosen in itertools.combinations(cuts, n):
                bounds = [-1, *chosen, len(name)]
                parts: list[str | int] = [name[a + 1 : b] for a, b in itertools.pairwise(bounds)]
                if any(p == "" for p in parts):
                    continue
                value = value_at(parts)
                shown.append(value)
                values.append(
                    self.text_column(
                        f"(CASE WHEN ascii({value}) IN (123, 91) THEN NULL WHEN {value} = 'null' THEN '' "
                        f"WHEN ascii({value}) = 34 THEN {_unquoted(value)} ELSE {value} END)"
                    )
                )
        if len(values) > 1:
            present = " + ".join(f"({v} IS NOT NULL)::INTEGER" for v in values)
            self.unsure.append(f"({present}) > 1")
        text = values[0] if len(values) == 1 else f"coalesce({', '.join(values)})"
        numeric = [self.text_column(_is_number(k)) for k in shown]
        fuzzy = " OR ".join(
            f"coalesce({_number_fuzzy(k, n)}, false)" for k, n in zip(shown, numeric, strict=True)
        )
        return _Val(text, f"({fuzzy})", numeric[0] if len(shown) == 1 else None)

    def _logfmt(self, stage: s.LogfmtParser) -> None:
        token = sql_string(_LOGFMT_TOKEN)
        keys = self.column(self.parsed_lines, f"regexp_extract_all(line, {token}, 1)")
        raws = self.column(
            self.parsed_lines,
            f"list_transform(regexp_extract_all(line, {token}, 2), lambda v: coalesce(v, ''))",
        )
        # Quoted values with escapes are decoded by Python's JSON reader; the rest are plain slices.
        self.unsure += ["contains(line, '\\')", f"regexp_matches(line, {sql_string(_ODD_SPACE)})"]
        wanted = {label: path if path is not None else label for label, path in stage.fields}

        def pick(key_cond: str, non_empty: bool) -> str:
            """The value's text as a column (the filters and the series read it, each more than once)."""
            cond = f"({key_cond}) AND v <> '' AND v <> '\"\"'" if non_empty else key_cond
            raw = self.column(self.extracted, f"list_filter({raws}, lambda v, i: {cond})[-1]")
            return self.text_column(
                f"(CASE WHEN starts_with({raw}, '\"') THEN substr({raw}, 2, length({raw}) - 2) ELSE {raw} END)"
            )

        def parsed(name: str) -> _Val:
            if wanted:
                if name not in wanted:
                    return _Val(NULL)
                return _Val(pick(f"{keys}[i] = {sql_string(wanted[name])}", False))
            if "_" in name or name[:1].isdigit():
                key = f"{keys}[i]"
                named = f"(CASE WHEN regexp_matches({key}, '^[0-9]') THEN '_' ELSE '' END) || "
                named += f"regexp_replace({key}, '[^a-zA-Z0-9_]', '_', 'g')"
                cond = f"{named} = {sql_string(name)}"
            else:
                cond = f"{keys}[i] = {sql_string(name)}"
            return _Val(pick(cond, not stage.keep_empty))

        self._parsed_layer(parsed)

    def _filter(self, expr: s.LfExpr, err: str) -> tuple[str, str]:
        """(condition, `__error__` after it) of a label filter seeing `err`, evaluated as Python does:
        `and`/`or` stop early, and a failed conversion sets an error and lets the entry through."""
        if isinstance(expr, s.LfAnd):
            left, err_left = self._filter(expr.left, err)
            right, err_right = self._filter(expr.right, err_left)
            return f"(coalesce({left}, false) AND coalesce({right}, false))", err_right
        if isinstance(expr, s.LfOr):
            left, err_left = self._filter(expr.left, err)
            right, err_right = self._filter(expr.right, err_left)
            cond = f"(coalesce({left}, false) OR coalesce({right}, false))"
            return cond, f"(CASE WHEN coalesce({left}, false) THEN {err_left} ELSE {err_right} END)"
        if isinstance(expr, s.LfString):
            m = expr.matcher
            value = err if m.name == ERROR else _text(self, self.label(m.name))
            return _matches(f"coalesce({value}, '')", m), err
        if isinstance(expr, s.LfCompare):
            if expr.value != expr.value:  # NaN: DuckDB's NaN compares equal to itself, Python's does not
                raise _Unsupported
            label = self.label(expr.name)
            text = label.text  # a number's spelling does not change its value
            # `sure` is read by the filter and by the check below: a column, computed once per row.
            sure, number = _convert(text, expr.kind, label.numeric, lambda sql: self.column(self.checks, sql))
            self.unsure.append(f"(NOT {sure} AND {err} IS NULL AND {text} IS NOT NULL)")
            target = repr(float(expr.value))
            cond = (
                f"(CASE WHEN {err} IS NOT NULL THEN true WHEN {text} IS NULL THEN false "
                f"ELSE coalesce({number} {_SQL_OPS[expr.op]} {target}::DOUBLE, false) END)"
            )
            return cond, err
        raise _Unsupported

    def _keep(self, stage: s.Keep) -> None:
        before = self.resolve
        items = stage.items

        def resolve(name: str) -> _Val:
            mine = [m for n, m in items if n == name]
            if not mine:
                return _Val(NULL)
            old = before(name)
            if any(m is None for m in mine):
                return old
            conds = " OR ".join(_matches(_text(self, old), m) for m in mine if m is not None)
            return _Val(f"(CASE WHEN {conds} THEN {old.text} END)", old.fuzzy)

        self.resolve = resolve

    def _drop(self, stage: s.Drop) -> None:
        for name, matcher in stage.items:
            if name == ERROR_DETAILS:
                continue  # never read here (reading it is unsupported)
            if name == ERROR:
                self.err = (
                    NULL
                    if matcher is None
                    else f"(CASE WHEN {_matches(self.err, matcher)} THEN NULL ELSE {self.err} END)"
                )
                continue

            def resolve(
                label: str,
                name: str = name,
                matcher: s.Matcher | None = matcher,
                before: Resolver = self.resolve,
            ) -> _Val:
                old = before(label)
                if label != name:
                    return old
                if matcher is None:
                    return _Val(NULL)
                return _Val(
                    f"(CASE WHEN {_matches(_text(self, old), matcher)} THEN NULL ELSE {old.text} END)"
                )

            self.resolve = resolve

    def _unwrap(self, stage: s.Unwrap) -> None:
        if self.value is not None:
            raise _Unsupported
        err, text = self.err, self.label(stage.label).text
        kind = (
            "number" if stage.conversion is None else "bytes" if stage.conversion == "bytes" else "duration"
        )
        sure, number = _convert(text, kind)
        self.unsure.append(f"(NOT {sure} AND {err} IS NULL AND {text} IS NOT NULL)")
        self.keep.append(f"({err} IS NOT NULL OR {text} IS NOT NULL)")
        self.value = f"(CASE WHEN {err} IS NULL THEN {number} ELSE 0.0 END)"
        before, name = self.resolve, stage.label

        def resolve(label: str) -> _Val:  # the unwrapped label is gone, unless an error kept it
            old = before(label)
            return old if label != name else _Val(f"(CASE WHEN {err} IS NOT NULL THEN {old.text} END)")

        self.resolve = resolve


# ---- small SQL pieces ----


def _in(sids: Sequence[int]) -> str:
    return f"stream_id IN ({', '.join(str(int(sid)) for sid in sids)})"


def _either(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return f"(coalesce({a}, false) OR coalesce({b}, false))"


def _path(parts: Sequence[str | int]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f'."{p}"' for p in parts)


def _re2_literal(text: str) -> str:
    return "".join(
        ch if ch.isascii() and (ch.isalnum() or ch == "_") else f"\\x{{{ord(ch):x}}}" for ch in text
    )


def _number_fuzzy(value: str, numeric: str) -> str:
    # DuckDB rewrites a non-integer number (1.50 → 1.5, 1e3 → 1000.0) and -0; Python keeps the text as written.
    return (
        f"({numeric} AND (contains({value}, '.') OR "
        f"contains({value}, 'e') OR contains({value}, 'E') OR ({value} = '0' AND contains(line, '-0'))))"
    )


def _is_number(value: str) -> str:
    """The JSON text `value` is a number (DuckDB writes NaN and Infinity as letters; those go to Python)."""
    return f"(ascii({value}) BETWEEN 48 AND 57 OR ascii({value}) = 45)"


def _unquoted(value: str) -> str:
    """A JSON string's text. DuckDB wrote it (escaping only quotes, backslashes and control characters), so
    its escapes decode exactly as Python decodes the line's."""
    return (
        f"(CASE WHEN contains({value}, '\\') THEN json_extract_string({value}, '$') "
        f"ELSE substr({value}, 2, length({value}) - 2) END)"
    )


def _re2(pattern: str) -> str:
    return pattern.replace("(?<", "(?P<").replace("(?P<=", "(?<=").replace("(?P<!", "(?<!")


def _matches(value: str, m: s.Matcher) -> str:
    if m.op == "=":
        return f"({value} = {sql_string(m.value)})"
    if m.op == "!=":
        return f"({value} <> {sql_string(m.value)})"
    found = f"regexp_full_match({value}, {sql_string(_re2(m.value))})"
    return found if m.op == "=~" else f"(NOT {found})"


def _convert(
    text: str, kind: str, numeric: str | None = None, column: Callable[[str], str] = lambda sql: sql
) -> tuple[str, str]:
    """(the text is in a form SQL converts exactly as Python does, its value as DOUBLE); `column` may make
    the first a column of its own."""
    if kind == "duration":
        sure = column(f"regexp_full_match({text}, {sql_string(_DURATION)})")
        number = f"regexp_extract({text}, {sql_string(_DURATION)}, 1)"
        unit = f"regexp_extract({text}, {sql_string(_DURATION)}, 3)"
        scale = " ".join(f"WHEN {sql_string(u)} THEN {ns}" for u, ns in _DURATION_NS.items())
        # Whole nanoseconds first, as Go's time.Duration (and parse_duration) hold them.
        whole = (
            f"CAST(trunc(CAST(ltrim({number}, '+-') AS DECIMAL(38, 6)) * (CASE {unit} {scale} ELSE 0 END)) "
            "AS HUGEINT)"
        )
        value = (
            f"(CASE WHEN starts_with({text}, '-') THEN -1.0 ELSE 1.0 END) * (CAST({whole} AS DOUBLE) / 1e9)"
        )
        return sure, f"(CASE WHEN {sure} AND {number} <> '' THEN {value} WHEN {sure} THEN 0.0 END)"
    if kind == "bytes":
        sure = column(f"regexp_full_match({text}, {sql_string(_BYTES)})")
        prefix = f"lower(regexp_extract({text}, {sql_string(_BYTES)}, 2) || regexp_extract({text}, {sql_string(_BYTES)}, 3))"
        scale = " ".join(
            f"WHEN '{p}{i}' THEN {float((1024 if i else 1000) ** (n + 1))!r}::DOUBLE"
            for n, p in enumerate("kmgtpe")
            for i in ("", "i")
        )
        number = f"TRY_CAST(regexp_extract({text}, {sql_string(_BYTES)}, 1) AS DOUBLE)"
        return sure, f"(CASE WHEN {sure} THEN {number} * (CASE {prefix} {scale} ELSE 1.0 END) END)"
    sure = f"regexp_full_match({text}, {sql_string(_NUMBER)})"
    if numeric is not None:
        # JSON numbers skip the regex. CASE, not OR: a projection evaluates both operands of OR on every
        # row, CASE only the branch it reaches.
        sure = f"(CASE WHEN {numeric} THEN true ELSE {sure} END)"
    sure = column(sure)
    return sure, f"(CASE WHEN {sure} THEN TRY_CAST({text} AS DOUBLE) END)"
