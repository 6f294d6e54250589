"""A LogQL pipeline run on one entry at a time: line filters, parsers, label filters, formats, unwrap.

The engine pushes what it can into SQL (the selector, leading line filters); whatever else a query has runs
here, one `Entry` through a list of stage functions, each returning False to drop the entry. Parsers and
filters behave as Loki documents them: a failed parse sets `__error__` (and `__error_details__`), numeric
filters let entries with an error through so `__error__` filters can see them, and a label a parser finds
that is also a stream label gets the suffix `_extracted`.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from logfire_notebook.server.loki import syntax as s
from logfire_notebook.server.loki.ipmatch import IpRange
from logfire_notebook.server.loki.templates import Template, TemplateError, TemplateRuntimeError
from logfire_notebook.server.loki.units import parse_bytes, parse_duration

__all__ = ["Entry", "PipelineError", "compile_stages", "json_path", "line_filter_predicate", "pattern_regex"]

ERROR = "__error__"
ERROR_DETAILS = "__error_details__"
TEMPLATE_ERROR = "TemplateFormatErr"


class PipelineError(ValueError):
    """A stage cannot be built (a bad template); `str()` is the message for the client."""


class Entry:
    """One log entry on its way through a pipeline."""

    __slots__ = ("labels", "line", "parsed", "stream", "ts", "value")

    def __init__(self, ts: int, line: str, stream: dict[str, str], metadata: dict[str, str] | None) -> None:
        self.ts = ts
        self.line = line
        self.stream = stream
        self.labels = {**stream, **metadata} if metadata else dict(stream)
        self.parsed: dict[str, str] | None = None
        self.value = 0.0

    def set_parsed(self, name: str, value: str) -> None:
        if name in self.stream:
            name += "_extracted"
        self.labels[name] = value
        if self.parsed is None:
            self.parsed = {}
        self.parsed[name] = value

    def set_error(self, kind: str, details: str) -> None:
        if ERROR not in self.labels:
            self.labels[ERROR] = kind
            self.labels[ERROR_DETAILS] = details


StageFn = Callable[[Entry], bool]


def compile_stages(stages: Sequence[s.Stage]) -> list[StageFn]:
    try:
        return [_compile(stage) for stage in stages]
    except TemplateError as exc:
        raise PipelineError(str(exc)) from None


def _compile(stage: s.Stage) -> StageFn:
    if isinstance(stage, s.LineFilter):
        keeps_line = line_filter_predicate(stage)
        return lambda e: keeps_line(e.line)
    if isinstance(stage, s.JsonParser):
        return _json_stage(stage)
    if isinstance(stage, s.LogfmtParser):
        return _logfmt_stage(stage)
    if isinstance(stage, s.RegexpParser):
        return _regex_stage(s.compile_regex(stage.pattern))
    if isinstance(stage, s.PatternParser):
        return _regex_stage(pattern_regex(stage.pattern, require_capture=True))
    if isinstance(stage, s.UnpackParser):
        return _unpack
    if isinstance(stage, s.LineFormat):
        return _line_format(Template(stage.template))
    if isinstance(stage, s.LabelFormat):
        return _label_format(stage)
    if isinstance(stage, s.Keep):
        return _keep(stage)
    if isinstance(stage, s.Drop):
        return _drop(stage)
    if isinstance(stage, s.Decolorize):
        return _decolorize
    if isinstance(stage, s.Unwrap):
        return _unwrap(stage)
    if isinstance(stage, s.LabelFilter):
        return _label_test(stage.expr)
    raise AssertionError(f"unknown stage {stage!r}")


# ---- line filters ----


def pattern_regex(pattern: str, *, require_capture: bool = False) -> Any:
    """The regex a `pattern` expression stands for: literals match themselves, `<name>` captures lazily up
    to the next literal (the last one takes the rest of the line), `<_>` matches without capturing."""
    parts = re.split(r"(<[A-Za-z_][A-Za-z0-9_]*>)", pattern)
    regex, captures, last_was_capture = "^", 0, False
    for i, part in enumerate(parts):
        if i % 2 == 1:
            if last_was_capture:
                raise ValueError(f"invalid pattern {pattern!r}: two captures must be separated by a literal")
            name = part[1:-1]
            is_last = all(p == "" for p in parts[i + 1 :])
            body = ".*" if is_last else ".*?"
            regex += f"({body})" if name == "_" else f"(?P<{name}>{body})"
            captures += name != "_"
            last_was_capture = True
        elif part:
            regex += re.escape(part)
            last_was_capture = False
    if require_capture and captures == 0:
        raise ValueError(f"invalid pattern {pattern!r}: at least one named capture is required")
    return s.compile_regex("(?s)" + regex)


def line_filter_predicate(stage: s.LineFilter) -> Callable[[str], bool]:
    values = [v for v in stage.values if isinstance(v, str)]
    if stage.op in ("|=", "!="):
        ranges = [v for v in stage.values if isinstance(v, IpRange)]

        def contains(line: str) -> bool:
            return any(v in line for v in values) or any(r.in_line(line) for r in ranges)

        return contains if stage.op == "|=" else (lambda line: not contains(line))
    if stage.op in ("|~", "!~"):
        regexes = [s.compile_regex(v) for v in values]

        def found(line: str) -> bool:
            return any(r.search(line) for r in regexes)

        return found if stage.op == "|~" else (lambda line: not found(line))
    patterns = [pattern_regex(v) for v in values]

    def matched(line: str) -> bool:
        return any(p.match(line) for p in patterns)

    return matched if stage.op == "|>" else (lambda line: not matched(line))


# ---- parsers ----

_BAD_KEY_CHARS = re.compile(r"[^a-zA-Z0-9_]")


@functools.lru_cache(maxsize=4096)
def sanitize_key(key: str) -> str:
    """A label name for a parsed key (lines repeat their keys, hence the cache)."""
    key = _BAD_KEY_CHARS.sub("_", key)
    if key and key[0].isdigit():
        key = "_" + key
    return key


TOO_DEEP = "the line nests JSON too deeply to parse"

# Numbers keep their text as written in the line, as Loki's parser keeps them.
_decode_json = json.JSONDecoder(parse_float=str, parse_int=str).decode


def _json_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"))


def _flatten(entry: Entry, prefix: str, obj: dict[str, Any]) -> None:
    # The hot loop of `| json`: strings (numbers arrive as their text) take the short way.
    for key, value in obj.items():
        name = prefix + sanitize_key(key)
        kind = type(value)
        if kind is str:
            entry.set_parsed(name, value)
        elif kind is dict:
            _flatten(entry, name + "_", value)
        elif kind is not list:  # Loki's json parser skips arrays unless a field expression picks from them
            entry.set_parsed(name, _json_text(value))


_PATH_PART = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


def json_path(path: str) -> list[str | int]:
    out: list[str | int] = []
    pos = 0
    while pos < len(path):
        m = _PATH_PART.match(path, pos)
        if m is None or m.end() == pos:
            raise PipelineError(f"invalid JSON path {path!r}")
        out.append(
            m.group(1)
            if m.group(1) is not None
            else int(m.group(2))
            if m.group(2) is not None
            else m.group(3)
        )
        pos = m.end()
    return out


def _step_into(value: Any, part: str | int) -> Any:
    if isinstance(part, int):
        return value[part] if isinstance(value, list) and part < len(value) else None
    return value.get(part) if isinstance(value, dict) else None


def _json_stage(stage: s.JsonParser) -> StageFn:
    paths = [(label, json_path(path if path is not None else label)) for label, path in stage.fields]

    def run(entry: Entry) -> bool:
        try:
            obj = _decode_json(entry.line)
        except RecursionError:
            entry.set_error("JSONParserErr", TOO_DEEP)
            return True
        except ValueError as exc:
            entry.set_error("JSONParserErr", str(exc))
            return True
        if not isinstance(obj, dict):
            entry.set_error("JSONParserErr", "the line is not a JSON object")
            return True
        if not paths:
            try:
                _flatten(entry, "", obj)
            except RecursionError:  # nested just below the decoder's limit, past ours
                entry.set_error("JSONParserErr", TOO_DEEP)
            return True
        for label, path in paths:
            value: Any = obj
            for part in path:
                value = _step_into(value, part)
                if value is None:
                    break
            if value is not None:
                entry.set_parsed(label, _json_text(value))
        return True

    return run


_LOGFMT = re.compile(r'\s*([^\s=]+)(?:=("(?:[^"\\]|\\.)*"|[^\s"]*))?')


def _logfmt_pairs(line: str, strict: bool) -> list[tuple[str, str]] | str:
    pairs: list[tuple[str, str]] = []
    pos = 0
    while pos < len(line):
        if line[pos].isspace():
            pos += 1
            continue
        m = _LOGFMT.match(line, pos)
        if m is None or m.end() == pos:
            if strict:
                return f"logfmt syntax error at pos {pos + 1}: unexpected {line[pos]!r}"
            pos += 1
            continue
        key, raw = m.group(1), m.group(2)
        if strict and ('"' in key or (raw is not None and raw.startswith('"') and not raw.endswith('"'))):
            return f"logfmt syntax error at pos {pos + 1}: invalid key"
        if raw is None:
            value = ""
        elif raw.startswith('"'):
            try:
                value = json.loads(raw)
            except ValueError:
                value = raw[1:-1]
        else:
            value = raw
        pairs.append((key, value))
        pos = m.end()
    return pairs


def _logfmt_stage(stage: s.LogfmtParser) -> StageFn:
    wanted = {label: path if path is not None else label for label, path in stage.fields}

    def run(entry: Entry) -> bool:
        pairs = _logfmt_pairs(entry.line, stage.strict)
        if isinstance(pairs, str):
            entry.set_error("LogfmtParserErr", pairs)
            return True
        if wanted:
            found = dict(pairs)
            for label, key in wanted.items():
                if key in found:
                    entry.set_parsed(label, found[key])
            return True
        for key, value in pairs:
            if value == "" and not stage.keep_empty:
                continue
            entry.set_parsed(sanitize_key(key), value)
        return True

    return run


def _regex_stage(regex: re.Pattern[str]) -> StageFn:
    names = [n for n in regex.groupindex]

    def run(entry: Entry) -> bool:
        m = regex.search(entry.line) if regex.pattern[:1] != "^" else regex.match(entry.line)
        if m is not None:
            for name in names:
                value = m.group(name)
                if value is not None:
                    entry.set_parsed(sanitize_key(name), value)
        return True

    return run


def _unpack(entry: Entry) -> bool:
    try:
        obj = json.loads(entry.line)
    except RecursionError:
        entry.set_error("JSONParserErr", TOO_DEEP)
        return True
    except ValueError as exc:
        entry.set_error("JSONParserErr", str(exc))
        return True
    if not isinstance(obj, dict):
        entry.set_error("JSONParserErr", "the line is not a JSON object")
        return True
    for key, value in obj.items():
        if key == "_entry" and isinstance(value, str):
            entry.line = value
        elif isinstance(value, str):
            entry.set_parsed(sanitize_key(key), value)
    return True


# ---- formats and label sets ----


def _line_format(template: Template) -> StageFn:
    def run(entry: Entry) -> bool:
        try:
            entry.line = template.render(entry.labels, entry.line, entry.ts)
        except TemplateRuntimeError as exc:
            entry.set_error(TEMPLATE_ERROR, str(exc))  # the line stays as it was, as in Loki
        return True

    return run


def _label_format(stage: s.LabelFormat) -> StageFn:
    items = [
        (dst, Template(src) if is_template else src, is_template) for dst, src, is_template in stage.items
    ]

    def run(entry: Entry) -> bool:
        snapshot = dict(entry.labels)
        for dst, src, is_template in items:
            if is_template:
                assert isinstance(src, Template)
                try:
                    value = src.render(snapshot, entry.line, entry.ts)
                except TemplateRuntimeError as exc:
                    entry.set_error(TEMPLATE_ERROR, str(exc))
                    continue
            else:
                assert isinstance(src, str)
                value = snapshot.get(src, "")
                entry.labels.pop(src, None)
                if entry.parsed is not None:
                    entry.parsed.pop(src, None)
            entry.labels[dst] = value
            if entry.parsed is None:
                entry.parsed = {}
            entry.parsed[dst] = value
        return True

    return run


def _keep(stage: s.Keep) -> StageFn:
    def run(entry: Entry) -> bool:
        # Like Loki's keep, the error labels stay: they are how a user sees what failed.
        kept = {k: v for k, v in entry.labels.items() if k in (ERROR, ERROR_DETAILS)}
        for name, matcher in stage.items:
            if name in entry.labels and (matcher is None or matcher.matches(entry.labels[name])):
                kept[name] = entry.labels[name]
        entry.labels = kept
        if entry.parsed is not None:
            entry.parsed = {k: v for k, v in entry.parsed.items() if k in kept}
        return True

    return run


def _drop(stage: s.Drop) -> StageFn:
    def run(entry: Entry) -> bool:
        for name, matcher in stage.items:
            if name in entry.labels and (matcher is None or matcher.matches(entry.labels[name])):
                del entry.labels[name]
                if entry.parsed is not None:
                    entry.parsed.pop(name, None)
                if name == ERROR:
                    entry.labels.pop(ERROR_DETAILS, None)
        return True

    return run


_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def _decolorize(entry: Entry) -> bool:
    entry.line = _ANSI.sub("", entry.line)
    return True


def _unwrap(stage: s.Unwrap) -> StageFn:
    def convert(text: str) -> float:
        if stage.conversion in ("duration", "duration_seconds"):
            return parse_duration(text)
        if stage.conversion == "bytes":
            return parse_bytes(text)
        return float(text)

    def run(entry: Entry) -> bool:
        if ERROR in entry.labels:
            return True
        text = entry.labels.pop(stage.label, None)
        if text is None:
            return False  # no such label: no sample, as in Loki
        try:
            entry.value = convert(text.strip())
        except ValueError as exc:
            entry.set_error("SampleExtractionErr", str(exc))
        return True

    return run


# ---- label filters ----


def _label_test(expr: s.LfExpr) -> StageFn:
    if isinstance(expr, s.LfAnd):
        left, right = _label_test(expr.left), _label_test(expr.right)
        return lambda e: left(e) and right(e)
    if isinstance(expr, s.LfOr):
        left, right = _label_test(expr.left), _label_test(expr.right)
        return lambda e: left(e) or right(e)
    if isinstance(expr, s.LfString):
        matcher = expr.matcher
        return lambda e: matcher.matches(e.labels.get(matcher.name, ""))
    if isinstance(expr, s.LfIp):
        name, negate, holds = expr.name, expr.negate, expr.range.matches_value
        return lambda e: holds(e.labels.get(name, "")) != negate
    return _compare(expr)


_OPS: dict[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def _compare(expr: s.LfCompare) -> StageFn:
    op, target, name = _OPS[expr.op], expr.value, expr.name
    convert: Callable[[str], float] = (
        parse_duration if expr.kind == "duration" else parse_bytes if expr.kind == "bytes" else float
    )

    def run(entry: Entry) -> bool:
        if ERROR in entry.labels:
            return True  # only string filters on __error__ may drop entries with an error
        text = entry.labels.get(name)
        if text is None:
            return False
        try:
            value = convert(text.strip())
        except ValueError as exc:
            entry.set_error("LabelFilterErr", str(exc))
            return True
        return not math.isnan(value) and op(value, target)

    return run
