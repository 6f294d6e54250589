"""The parsed form of a LogQL query: what `parser.parse()` returns and the engine evaluates."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from logfire_notebook.server.loki.ipmatch import IpRange

__all__ = [
    "Binary",
    "Decolorize",
    "Drop",
    "Expr",
    "Grouping",
    "JsonParser",
    "Keep",
    "LabelFilter",
    "LabelFormat",
    "LabelReplace",
    "LfAnd",
    "LfCompare",
    "LfIp",
    "LfOr",
    "LfString",
    "LineFilter",
    "LineFormat",
    "LogQuery",
    "LogRange",
    "LogfmtParser",
    "Matcher",
    "Number",
    "PatternParser",
    "RangeAggregation",
    "RegexpParser",
    "Stage",
    "UnpackParser",
    "Unwrap",
    "VectorAggregation",
    "VectorLiteral",
    "compile_regex",
]


def compile_regex(pattern: str, *, anchored: bool = False, dotall: bool = False) -> Any:
    """A Loki regex, compiled by RE2 as Loki compiles it: the same syntax, and linear time whatever the
    pattern or the line (no catastrophic backtracking from a hostile query). Label regexes are `anchored`
    at both ends. Raises `re.error` with RE2's message for a pattern RE2 refuses."""
    import re2

    translated = re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", pattern)  # Go's (?<name> is (?P<name> for RE2 here
    text = f"^(?:{translated})$" if anchored else translated
    options = re2.Options()
    options.log_errors = False
    options.dot_nl = dotall
    try:
        return re2.compile(text, options)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        raise re.error(
            detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
        ) from None


@dataclass(frozen=True)
class Matcher:
    """`name op "value"`: in a stream selector, a `keep`/`drop` item or a string label filter."""

    name: str
    op: str  # = != =~ !~
    value: str
    regex: Any = field(default=None, compare=False, repr=False)

    @staticmethod
    def make(name: str, op: str, value: str) -> Matcher:
        # Label regexes are anchored at both ends, as Loki (and Prometheus) anchor them.
        regex = compile_regex(value, anchored=True) if op in ("=~", "!~") else None
        return Matcher(name, op, value, regex)

    def matches(self, value: str) -> bool:
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        assert self.regex is not None
        found = self.regex.match(value) is not None
        return found if self.op == "=~" else not found

    def matches_empty(self) -> bool:
        return self.matches("")


# ---- pipeline stages ----


@dataclass(frozen=True)
class LineFilter:
    op: str  # |= != |~ !~ |> !>
    values: tuple[str | IpRange, ...]  # joined by `or`; an IpRange is `ip("...")` (only with |= and !=)

    @property
    def has_ip(self) -> bool:
        return any(isinstance(v, IpRange) for v in self.values)


@dataclass(frozen=True)
class JsonParser:
    fields: tuple[tuple[str, str | None], ...] = ()  # (label, JSON path or None for the label's own name)


@dataclass(frozen=True)
class LogfmtParser:
    strict: bool = False
    keep_empty: bool = False
    fields: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class RegexpParser:
    pattern: str


@dataclass(frozen=True)
class PatternParser:
    pattern: str


@dataclass(frozen=True)
class UnpackParser:
    pass


@dataclass(frozen=True)
class LineFormat:
    template: str


@dataclass(frozen=True)
class LabelFormat:
    items: tuple[tuple[str, str, bool], ...]  # (destination, source label or template, is_template)


@dataclass(frozen=True)
class Keep:
    items: tuple[tuple[str, Matcher | None], ...]


@dataclass(frozen=True)
class Drop:
    items: tuple[tuple[str, Matcher | None], ...]


@dataclass(frozen=True)
class Decolorize:
    pass


@dataclass(frozen=True)
class Unwrap:
    label: str
    conversion: str | None = None  # duration, duration_seconds, bytes


@dataclass(frozen=True)
class LfString:
    matcher: Matcher


@dataclass(frozen=True)
class LfCompare:
    """A numeric, duration or bytes comparison; `value` is in seconds for durations and bytes for bytes."""

    name: str
    op: str  # == != > >= < <=
    value: float
    kind: str  # number, duration, bytes


@dataclass(frozen=True)
class LfIp:
    """`name = ip("...")` or `name != ip("...")`."""

    name: str
    negate: bool
    range: IpRange


@dataclass(frozen=True)
class LfAnd:
    left: LfExpr
    right: LfExpr


@dataclass(frozen=True)
class LfOr:
    left: LfExpr
    right: LfExpr


LfExpr = LfString | LfCompare | LfIp | LfAnd | LfOr


@dataclass(frozen=True)
class LabelFilter:
    expr: LfExpr


Stage = (
    LineFilter
    | JsonParser
    | LogfmtParser
    | RegexpParser
    | PatternParser
    | UnpackParser
    | LineFormat
    | LabelFormat
    | Keep
    | Drop
    | Decolorize
    | Unwrap
    | LabelFilter
)


# ---- queries ----


@dataclass(frozen=True)
class LogQuery:
    matchers: tuple[Matcher, ...]
    stages: tuple[Stage, ...]

    @property
    def unwrap(self) -> Unwrap | None:
        return next((s for s in self.stages if isinstance(s, Unwrap)), None)


@dataclass(frozen=True)
class LogRange:
    query: LogQuery
    range_ns: int
    offset_ns: int = 0


@dataclass(frozen=True)
class Grouping:
    without: bool
    labels: tuple[str, ...]


@dataclass(frozen=True)
class RangeAggregation:
    op: str
    range: LogRange
    param: float | None = None
    grouping: Grouping | None = None


@dataclass(frozen=True)
class VectorAggregation:
    op: str
    expr: Expr
    param: float | None = None
    grouping: Grouping | None = None


@dataclass(frozen=True)
class Binary:
    op: str  # + - * / % ^ == != > >= < <= and or unless
    left: Expr
    right: Expr
    return_bool: bool = False
    on: tuple[str, ...] | None = None
    ignoring: tuple[str, ...] | None = None
    group: str | None = None  # "left" or "right": many-to-one / one-to-many matching
    include: tuple[str, ...] = ()  # labels group_left/group_right copy from the "one" side


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class VectorLiteral:
    value: float


@dataclass(frozen=True)
class LabelReplace:
    expr: Expr
    destination: str
    replacement: str
    source: str
    regex: str


Expr = LogQuery | RangeAggregation | VectorAggregation | Binary | Number | VectorLiteral | LabelReplace
