"""LogQL text → `syntax` objects, with Loki's error messages (`parse error at line 1, col N: ...`).

The grammar is `logql.lark` (lark, LALR); this module turns lark's tree into `syntax` objects and checks
what a grammar cannot say (at least one matcher that needs a value, `unwrap` only in range aggregations...).
"""

from __future__ import annotations

import functools
import math
import re
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from logfire_notebook.server.loki import syntax as s
from logfire_notebook.server.loki.ipmatch import IpRange
from logfire_notebook.server.loki.units import parse_bytes, parse_duration, unquote

__all__ = ["LogQLSyntaxError", "parse", "warm_up"]

# Past this a query is refused before parsing: the grammar is linear, but a text this long is not a query.
MAX_QUERY_LENGTH = 128 * 1024

_EMPTY_SELECTOR = (
    "queries require at least one regexp or equality matcher that does not have an empty-compatible value. "
    'For instance, app=~".*" does not meet this requirement, but app=~".+" will meet this requirement.'
)


def _regexp_error(exc: re.error, pattern: str) -> LogQLSyntaxError:
    """Go's wording for RE2's complaint: `error parsing regexp: missing closing ): `(a``."""
    what = str(exc).split(": ", 1)[0]
    what = {"missing )": "missing closing )", "missing ]": "missing closing ]"}.get(what, what)
    return LogQLSyntaxError(f"parse error : error parsing regexp: {what}: `{pattern}`")


class LogQLSyntaxError(ValueError):
    """The query is not valid LogQL; `str()` is Loki's message for it (an HTTP 400 body)."""


@functools.lru_cache(maxsize=1)
def _lark() -> Lark:
    grammar = (Path(__file__).parent / "logql.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", start="start", propagate_positions=False, maybe_placeholders=True)


def warm_up() -> None:
    """Build the parser on a background thread (about a second), so the first query does not wait."""
    import threading

    threading.Thread(target=_lark, name="logql-parser", daemon=True).start()


def parse(text: str) -> s.Expr:
    """Parse one LogQL query. Raises `LogQLSyntaxError` with Loki's wording."""
    if len(text) > MAX_QUERY_LENGTH:
        raise LogQLSyntaxError(f"parse error : the query is longer than {MAX_QUERY_LENGTH} characters")
    if not text.strip():
        raise LogQLSyntaxError("parse error : syntax error: unexpected end of input")
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as exc:
        raise LogQLSyntaxError(_syntax_message(exc, text)) from None
    try:
        expr: s.Expr = _ToSyntax().transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, LogQLSyntaxError):
            raise exc.orig_exc from None
        if isinstance(exc.orig_exc, (ValueError, re.error)):
            raise LogQLSyntaxError(f"parse error : {exc.orig_exc}") from None
        raise
    _check(expr, top=True)
    return expr


# ---- errors ----

_TOKEN_NAMES = {
    "NAME": "IDENTIFIER",
    "DQ_STRING": "STRING",
    "BQ_STRING": "STRING",
    "NUMBER": "NUMBER",
    "DURATION": "DURATION",
    "BYTES": "BYTES",
    "$END": "end of input",
    "COMMA": ",",
    "RBRACE": "}",
    "LBRACE": "{",
    "LPAR": "(",
    "RPAR": ")",
    "LSQB": "[",
    "RSQB": "]",
    "VBAR": "|",
    "EQ": "=",
    "NEQ": "!=",
    "RE": "=~",
    "NRE": "!~",
    "IP": "ip",
}


def _token_name(kind: str, value: str | None = None) -> str:
    if kind in _TOKEN_NAMES:
        return _TOKEN_NAMES[kind]
    if value:
        return value
    return kind


def _syntax_message(exc: UnexpectedInput, text: str) -> str:
    line = getattr(exc, "line", 1) or 1
    column = getattr(exc, "column", 1) or 1
    if isinstance(exc, UnexpectedToken):
        token: Token = exc.token
        if token.type == "$END":
            line, column = text.count("\n") + 1, len(text.rsplit("\n", 1)[-1]) + 1
            found = "end of input"
        else:
            found = _token_name(token.type, str(token))
        expected = sorted({_token_name(t) for t in exc.expected if not t.startswith("__")})
        hint = f", expecting {' or '.join(expected)}" if 0 < len(expected) <= 4 else ""
        return f"parse error at line {line}, col {column}: syntax error: unexpected {found}{hint}"
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        char = text[pos] if pos < len(text) else ""
        bad_duration = re.match(r"[0-9][0-9.]*[A-Za-z_µ]+", text[pos:])
        if bad_duration:
            return f'parse error at line {line}, col {column}: not a valid duration string: "{bad_duration.group()}"'
        if char in '"`':
            return f"parse error at line {line}, col {column}: literal not terminated"
        return f"parse error at line {line}, col {column}: syntax error: unexpected character {char!r}"
    if isinstance(exc, UnexpectedEOF):
        return f"parse error at line {line}, col {column}: syntax error: unexpected end of input"
    return f"parse error at line {line}, col {column}: syntax error"


# ---- tree → syntax ----


def _number(token: Token) -> float:
    text = str(token)
    if text.lower().startswith("0x"):
        return float(int(text, 16))
    if text.lower() == "nan":
        return math.nan
    if text.lower() == "inf":
        return math.inf
    return float(text)


def _ip_range(text: str) -> IpRange:
    try:
        return IpRange.parse(text)
    except ValueError as exc:
        raise LogQLSyntaxError(f"parse error : {exc}") from None


def _duration_ns(token: Token) -> int:
    return round(parse_duration(str(token)) * 1e9)


@v_args(inline=True)
class _ToSyntax(Transformer[Token, Any]):
    # -- small pieces --
    def string(self, token: Token) -> str:
        try:
            return unquote(str(token))
        except ValueError as exc:
            raise LogQLSyntaxError(f"parse error at line {token.line}, col {token.column}: {exc}") from None

    def match_op(self, token: Token) -> str:
        return str(token)

    def cmp_op(self, token: Token) -> str:
        return str(token)

    def line_op(self, token: Token) -> str:
        return str(token)

    def number(self, token: Token) -> s.Number:
        return s.Number(_number(token))

    def label_names(self, *names: Token) -> tuple[str, ...]:
        return tuple(str(n) for n in names)

    def grouping(self, kind: Token, names: tuple[str, ...] | None) -> s.Grouping:
        return s.Grouping(str(kind) == "without", names or ())

    # -- log queries --
    def matcher(self, name: Token, op: str, value: str) -> s.Matcher:
        try:
            return s.Matcher.make(str(name), op, value)
        except re.error as exc:
            raise _regexp_error(exc, value) from None

    def selector(self, *matchers: s.Matcher | None) -> tuple[s.Matcher, ...]:
        found = tuple(m for m in matchers if m is not None)
        if not any(not m.matches_empty() for m in found):
            raise LogQLSyntaxError(f"parse error : {_EMPTY_SELECTOR}")
        return found

    def pipeline(self, *stages: Any) -> tuple[s.Stage, ...]:
        return _wrap_label_filters(stages)

    def log_expr(self, matchers: tuple[s.Matcher, ...], stages: tuple[s.Stage, ...]) -> s.LogQuery:
        return s.LogQuery(matchers, stages)

    def filter_value(self, value: str) -> str:
        return value

    def ip_value(self, _ip: Token, value: str) -> IpRange:
        return _ip_range(value)

    def line_filter(self, op: str, *values: Any) -> s.LineFilter:
        texts = tuple(
            v for v in values if isinstance(v, IpRange) or (isinstance(v, str) and not isinstance(v, Token))
        )
        if op not in ("|=", "!=") and any(isinstance(v, IpRange) for v in texts):
            raise LogQLSyntaxError(f"parse error : ip() line filters take |= or !=, not {op}")
        if op in ("|~", "!~"):
            for text in texts:
                assert isinstance(text, str)
                try:
                    s.compile_regex(text)
                except re.error as exc:
                    raise _regexp_error(exc, text) from None
        return s.LineFilter(op, texts)

    def extraction(
        self, name: Token, _eq: Token | None = None, path: str | None = None
    ) -> tuple[str, str | None]:
        return (str(name), path)

    def json_parser(self, _kw: Token, *fields: tuple[str, str | None] | None) -> s.JsonParser:
        return s.JsonParser(tuple(f for f in fields if f is not None))

    def logfmt_parser(self, _kw: Token, *rest: Any) -> s.LogfmtParser:
        flags = {str(r) for r in rest if isinstance(r, Token) and r.type == "FLAG"}
        fields = tuple(r for r in rest if isinstance(r, tuple))
        return s.LogfmtParser("--strict" in flags, "--keep-empty" in flags, fields)

    def regexp_parser(self, _kw: Token, pattern: str) -> s.RegexpParser:
        try:
            compiled = s.compile_regex(pattern)
        except re.error as exc:
            raise LogQLSyntaxError(f"parse error : invalid regexp pattern: {exc}") from None
        if not compiled.groupindex:
            raise LogQLSyntaxError("parse error : at least one named capture must be supplied")
        return s.RegexpParser(pattern)

    def pattern_parser(self, _kw: Token, pattern: str) -> s.PatternParser:
        from logfire_notebook.server.loki.pipeline import pattern_regex

        try:
            pattern_regex(pattern, require_capture=True)
        except ValueError as exc:
            raise LogQLSyntaxError(f"parse error : {exc}") from None
        return s.PatternParser(pattern)

    def unpack_parser(self, _kw: Token) -> s.UnpackParser:
        return s.UnpackParser()

    def line_format(self, _kw: Token, template: str) -> s.LineFormat:
        return s.LineFormat(template)

    def label_format_item(self, dst: Token, _eq: Token, src: Any) -> tuple[str, str, bool]:
        if isinstance(src, Token):
            return (str(dst), str(src), False)
        return (str(dst), str(src), True)

    def label_format(self, _kw: Token, *items: tuple[str, str, bool]) -> s.LabelFormat:
        return s.LabelFormat(items)

    def label_item(self, name: Token, op: str | None = None, value: str | None = None) -> tuple[str, Any]:
        if op is None or value is None:
            return (str(name), None)
        return (str(name), self.matcher(name, op, value))

    def keep_stage(self, _kw: Token, *items: tuple[str, Any]) -> s.Keep:
        return s.Keep(items)

    def drop_stage(self, _kw: Token, *items: tuple[str, Any]) -> s.Drop:
        return s.Drop(items)

    def decolorize(self, _kw: Token) -> s.Decolorize:
        return s.Decolorize()

    def unwrap_stage(self, _kw: Token, *rest: Token) -> s.Unwrap:
        if len(rest) == 1:
            return s.Unwrap(str(rest[0]))
        return s.Unwrap(str(rest[1]), str(rest[0]))

    # -- label filters --
    def lf_string(self, name: Token, op: str, value: str) -> s.LfString:
        return s.LfString(self.matcher(name, op, value))

    def lf_compare(self, name: Token, op: Any, value: tuple[float, str]) -> s.LfCompare:
        op_text = str(op)
        if op_text in ("=~", "!~"):
            raise LogQLSyntaxError(f"parse error : {op_text} needs a string, not a number")
        return s.LfCompare(str(name), "==" if op_text == "=" else op_text, value[0], value[1])

    def lf_ip(self, name: Token, op: Token, _ip: Token, value: str) -> s.LfIp:
        return s.LfIp(str(name), str(op) == "!=", _ip_range(value))

    def lf_number(self, token: Token) -> tuple[float, str]:
        return (_number(token), "number")

    def lf_signed(self, sign: Token, token: Token) -> tuple[float, str]:
        return ((-1 if str(sign) == "-" else 1) * _number(token), "number")

    def lf_duration(self, token: Token) -> tuple[float, str]:
        return (parse_duration(str(token)), "duration")

    def lf_bytes(self, token: Token) -> tuple[float, str]:
        return (parse_bytes(str(token)), "bytes")

    def lf_both(self, left: s.LfExpr, *rest: Any) -> s.LfAnd:
        return s.LfAnd(left, rest[-1])

    def lf_either(self, left: s.LfExpr, _or: Token, right: s.LfExpr) -> s.LfOr:
        return s.LfOr(left, right)

    # -- metric queries --
    def range_(self, token: Token) -> int:
        return _duration_ns(token)

    def offset(self, _kw: Token, token: Token) -> int:
        return _duration_ns(token)

    def log_range(self, *parts: Any) -> s.LogRange:
        matchers: tuple[s.Matcher, ...] = ()
        stages: tuple[s.Stage, ...] = ()
        ints: list[int] = []
        for part in parts:
            if isinstance(part, s.LogQuery):
                matchers, stages = part.matchers, part.stages
            elif isinstance(part, tuple) and part and isinstance(part[0], s.Matcher):
                matchers = part
            elif isinstance(part, tuple):
                stages = part
            elif isinstance(part, int):
                ints.append(part)
        range_ns, offset_ns = ints[0], ints[1] if len(ints) > 1 else 0
        if range_ns <= 0:
            raise LogQLSyntaxError("parse error : the range of a range aggregation must be positive")
        return s.LogRange(s.LogQuery(matchers, stages), range_ns, offset_ns)

    def range_aggregation(
        self, op: Token, param: Token | None, log_range: s.LogRange, grouping: s.Grouping | None
    ) -> s.RangeAggregation:
        return s.RangeAggregation(str(op), log_range, None if param is None else _number(param), grouping)

    def vector_aggregation(self, op: Token, *rest: Any) -> s.VectorAggregation:
        groupings = [r for r in rest if isinstance(r, s.Grouping)]
        params = [r for r in rest if isinstance(r, Token)]
        exprs = [r for r in rest if r is not None and not isinstance(r, (s.Grouping, Token))]
        return s.VectorAggregation(
            str(op), exprs[0], _number(params[0]) if params else None, groupings[0] if groupings else None
        )

    def vector_literal(self, _kw: Token, value: Token) -> s.VectorLiteral:
        return s.VectorLiteral(_number(value))

    def label_replace(
        self, _kw: Token, expr: s.Expr, dst: str, repl: str, src: str, regex: str
    ) -> s.LabelReplace:
        try:
            s.compile_regex(regex, anchored=True)
        except re.error as exc:
            raise LogQLSyntaxError(
                f"parse error : invalid regular expression in label_replace(): {exc}"
            ) from None
        return s.LabelReplace(expr, dst, repl, src, regex)

    def matching(
        self, kind: Token, names: tuple[str, ...] | None, group: tuple[str, tuple[str, ...]] | None = None
    ) -> tuple[str, tuple[str, ...], tuple[str, tuple[str, ...]] | None]:
        return (str(kind), names or (), group)

    def group_side(self, side: Token, names: tuple[str, ...] | None = None) -> tuple[str, tuple[str, ...]]:
        return ("left" if side.type == "GROUP_LEFT" else "right", names or ())

    def bin_mod(self, *parts: Any) -> tuple[bool, Any]:
        return_bool = any(isinstance(p, Token) and p.type == "BOOL" for p in parts)
        matching = next((p for p in parts if isinstance(p, tuple)), None)
        return (return_bool, matching)

    def binary(self, left: s.Expr, op: Any, mod: tuple[bool, Any], right: s.Expr) -> s.Binary:
        return_bool, matching = mod
        on = ignoring = group = None
        include: tuple[str, ...] = ()
        if matching is not None:
            kind, names, grouped = matching
            if kind == "on":
                on = names
            else:
                ignoring = names
            if grouped is not None:
                group, include = grouped
                if str(op) in ("and", "or", "unless"):
                    raise LogQLSyntaxError(f"parse error : no grouping allowed for {op} operation")
        return s.Binary(str(op), left, right, return_bool, on, ignoring, group, include)

    def unary(self, sign: Token, expr: s.Expr) -> s.Expr:
        if str(sign) == "+":
            return expr
        if isinstance(expr, s.Number):
            return s.Number(-expr.value)
        return s.Binary("*", s.Number(-1.0), expr)


# The label filter rules are inlined (`?lf_or`), so a lone filter stage arrives as its inner node; wrap every
# label filter stage here instead.
def _wrap_label_filters(stages: tuple[Any, ...]) -> tuple[s.Stage, ...]:
    out: list[s.Stage] = []
    for stage in stages:
        if isinstance(stage, (s.LfString, s.LfCompare, s.LfIp, s.LfAnd, s.LfOr)):
            out.append(s.LabelFilter(stage))
        else:
            out.append(stage)
    return tuple(out)


# ---- checks a grammar cannot express ----

_LOG_RANGE_OPS = {"count_over_time", "rate", "bytes_over_time", "bytes_rate", "absent_over_time"}
_UNWRAP_OPS = {
    "sum_over_time",
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "quantile_over_time",
    "first_over_time",
    "last_over_time",
    "rate_counter",
}


def _check(expr: s.Expr, *, top: bool = False) -> None:
    if isinstance(expr, s.LogQuery):
        if not top:
            raise LogQLSyntaxError("parse error : unexpected log query in a metric expression")
        if expr.unwrap is not None:
            raise LogQLSyntaxError("parse error : unwrap is only allowed in a range aggregation")
    elif isinstance(expr, s.RangeAggregation):
        _check_range(expr)
    elif isinstance(expr, s.VectorAggregation):
        if expr.op in ("topk", "bottomk") and expr.param is None:
            raise LogQLSyntaxError(f"parse error : parameter required for {expr.op}")
        if expr.op not in ("topk", "bottomk") and expr.param is not None:
            raise LogQLSyntaxError(
                f"parse error : unsupported parameter for operation {expr.op}({expr.param:g},"
            )
        _check(expr.expr)
    elif isinstance(expr, s.Binary):
        _check(expr.left)
        _check(expr.right)
    elif isinstance(expr, s.LabelReplace):
        _check(expr.expr)


def _check_range(expr: s.RangeAggregation) -> None:
    query = expr.range.query
    unwrap_at = [i for i, stage in enumerate(query.stages) if isinstance(stage, s.Unwrap)]
    if len(unwrap_at) > 1:
        raise LogQLSyntaxError("parse error : only one unwrap is allowed")
    if unwrap_at and not all(isinstance(st, s.LabelFilter) for st in query.stages[unwrap_at[0] + 1 :]):
        raise LogQLSyntaxError("parse error : only label filters may follow unwrap")
    if expr.op in _UNWRAP_OPS and not unwrap_at:
        raise LogQLSyntaxError(f"parse error : invalid aggregation {expr.op} without unwrap")
    if expr.op in _LOG_RANGE_OPS - {"rate"} and unwrap_at:
        raise LogQLSyntaxError(f"parse error : invalid aggregation {expr.op} with unwrap")
    if expr.op == "quantile_over_time" and expr.param is None:
        raise LogQLSyntaxError("parse error : parameter required for quantile_over_time")
    if expr.op != "quantile_over_time" and expr.param is not None:
        raise LogQLSyntaxError(f"parse error : unsupported parameter for operation {expr.op}")
    if expr.grouping is not None and expr.op in _LOG_RANGE_OPS:
        raise LogQLSyntaxError(f"parse error : grouping not allowed for {expr.op} aggregation")
