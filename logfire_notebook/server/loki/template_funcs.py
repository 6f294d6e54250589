"""The functions LogQL templates call (`line_format`, `label_format`): Go's template built-ins and the ones
Loki documents (strings, regexes, arithmetic, dates), with Go's argument order and Go's way of printing
values. A function raises `TemplateRuntimeError` where Go's would fail the template."""

from __future__ import annotations

import base64
import math
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from logfire_notebook.server.loki.units import parse_bytes, parse_duration

__all__ = ["FUNCS", "GoTime", "TemplateRuntimeError", "go_text", "truthy"]


class TemplateRuntimeError(ValueError):
    """A template failed on one entry (Loki sets `__error__=TemplateFormatErr` and keeps the line)."""


MAX_VALUE = 1 << 20
"""The most characters one function call may make. A call is one step that no time limit can stop, so
`repeat 1000000000` or a `replace` of "" must be refused before it builds gigabytes (as the whole output
of a template is bounded by `templates.MAX_OUTPUT`)."""


def _bounded(name: str, size: int) -> None:
    if size > MAX_VALUE:
        raise TemplateRuntimeError(f"{name} would make a value of more than {MAX_VALUE:,} characters")


def _sized(name: str, repl: Callable[[re.Match[str]], str]) -> Callable[[re.Match[str]], str]:
    """`repl` for regex.sub, refusing once its replacements pass MAX_VALUE characters in all."""
    total = 0

    def each(m: re.Match[str]) -> str:
        nonlocal total
        text = repl(m)
        total += len(text)
        _bounded(name, total)
        return text

    return each


@dataclass(frozen=True)
class GoTime:
    """A point in time with nanoseconds, printed as Go prints a time.Time."""

    ns: int

    def datetime(self) -> datetime:
        try:
            return datetime.fromtimestamp(self.ns // 1_000_000_000, tz=timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise TemplateRuntimeError(f"the time {self.ns} ns since 1970 is past the year 9999") from None

    def __str__(self) -> str:
        frac = self.ns % 1_000_000_000
        text = self.datetime().strftime("%Y-%m-%d %H:%M:%S")
        if frac:
            text += "." + f"{frac:09d}".rstrip("0")
        return text + " +0000 UTC"


# ---- printing and truth, as Go's text/template does them ----


def go_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_text(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


def _go_float(value: float) -> str:
    # Go's %v of a float64: the shortest representation, exponent form past 1e21 or below 1e-4.
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    if -4 <= exponent < 21:
        text = repr(value)
        if "e" in text:
            text = format(value, "f")
        return text[:-2] if text.endswith(".0") else text
    mantissa, exp = repr(value).replace("E", "e").split("e") if "e" in repr(value) else (repr(value), "0")
    mantissa = mantissa[:-2] if mantissa.endswith(".0") else mantissa
    sign = "-" if int(exp) < 0 else "+"
    return f"{mantissa}e{sign}{abs(int(exp)):02d}"


def truthy(value: Any) -> bool:
    if isinstance(value, GoTime):
        return True
    return bool(value)


# ---- conversions (sprig's: a bad number is 0, not an error) ----


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return int(value)
    try:
        return int(str(value).strip(), 0)
    except ValueError:
        try:
            return int(float(str(value)))
        except ValueError:
            return 0


def _float(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return 0.0


def _text(value: Any) -> str:
    return go_text(value)


# ---- comparisons: numbers with numbers, strings with strings ----


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "string" if isinstance(value, str) else type(value).__name__


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    if _kind(a) == _kind(b) and _kind(a) in ("bool", "number", "string"):
        return a, b
    raise TemplateRuntimeError(
        f"incompatible types for comparison: {go_text(a)!r} and {go_text(b)!r} "
        "(convert a label with int or float64 to compare it with a number)"
    )


def _eq(a: Any, *others: Any) -> bool:
    if not others:
        raise TemplateRuntimeError("missing argument for comparison")
    return any(x == y for x, y in (_comparable(a, o) for o in others))


def _order(check: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def run(a: Any, b: Any) -> bool:
        if isinstance(a, bool) or isinstance(b, bool):
            raise TemplateRuntimeError("invalid type for comparison")
        x, y = _comparable(a, b)
        return check(x, y)

    return run


def _and(*values: Any) -> Any:
    for value in values:
        if not truthy(value):
            return value
    return values[-1]


def _or(*values: Any) -> Any:
    for value in values:
        if truthy(value):
            return value
    return values[-1]


# ---- arithmetic (sprig: integers truncate, the f-forms are floats) ----


def _div(a: Any, b: Any) -> int:
    x, y = _int(a), _int(b)
    if y == 0:
        raise TemplateRuntimeError("integer divide by zero")
    q = abs(x) // abs(y)  # Go truncates toward zero
    return q if (x >= 0) == (y >= 0) else -q


def _mod(a: Any, b: Any) -> int:
    x, y = _int(a), _int(b)
    if y == 0:
        raise TemplateRuntimeError("integer divide by zero")
    return int(math.fmod(x, y))


def _divf(a: Any, *rest: Any) -> float:
    out = _float(a)
    for b in rest:
        y = _float(b)
        out = out / y if y else (math.copysign(math.inf, out) if out else math.nan)
    return out


def _round(value: Any, places: Any = 0, half: Any = 0.5) -> float:
    x, p = _float(value), 10.0 ** _int(places)
    digit = x * p
    _, frac = math.modf(digit)
    rounded = math.ceil(digit) if frac >= _float(half) else math.floor(digit)
    return float(rounded / p)


# ---- strings ----


def _trunc(n: Any, s: Any) -> str:
    k, text = _int(n), _text(s)
    return text[:k] if k >= 0 else text[k:]


def _substr(start: Any, end: Any, s: Any) -> str:
    text, a, b = _text(s), _int(start), _int(end)
    if a < 0:
        return text[:b]
    if b < 0 or b > len(text):
        return text[a:]
    return text[a:b]


def _indent(n: Any, s: Any) -> str:
    k, text = max(_int(n), 0), _text(s)
    _bounded("indent", len(text) + k * (text.count("\n") + 1))
    pad = " " * k
    return pad + text.replace("\n", "\n" + pad)


def _repeat(n: Any, s: Any) -> str:
    k, text = max(_int(n), 0), _text(s)
    _bounded("repeat", len(text) * k)
    return text * k


def _replace(name: str, s: Any, old: Any, new: Any, n: int = -1) -> str:
    text, before, after = _text(s), _text(old), _text(new)
    found = len(text) + 1 if before == "" else text.count(before)
    _bounded(name, len(text) + (found if n < 0 else min(n, found)) * max(len(after) - len(before), 0))
    return text.replace(before, after, n)


def _title(s: Any) -> str:
    return re.sub(r"(^|\s)(\S)", lambda m: m.group(1) + m.group(2).upper(), _text(s))


def _regex(pattern: Any) -> Any:
    from logfire_notebook.server.loki.syntax import compile_regex

    try:
        return compile_regex(_text(pattern))
    except re.error as exc:
        raise TemplateRuntimeError(f"error parsing regexp: {exc}") from None


def _go_expand(template: str) -> str:
    """Go's `$1`, `${1}`, `$name` in a replacement → Python's `\\g<...>`; `$$` is a dollar."""

    def swap(m: re.Match[str]) -> str:
        if m.group() == "$$":
            return "$"
        name = m.group(1) or m.group(2)
        return f"\\g<{name}>"

    return re.sub(r"\$\$|\$\{(\w+)\}|\$(\w+)", swap, template.replace("\\", "\\\\"))


def _regex_replace_all(pattern: Any, s: Any, repl: Any) -> str:
    regex = _regex(pattern)
    try:
        template = _go_expand(_text(repl))
        return str(regex.sub(_sized("regexReplaceAll", lambda m: m.expand(template)), _text(s)))
    except (re.error, IndexError):
        return str(regex.sub(lambda _m: "", _text(s)))  # Go drops a reference to a missing group


def _regex_replace_literal(pattern: Any, s: Any, repl: Any) -> str:
    literal = _text(repl)
    return str(_regex(pattern).sub(_sized("regexReplaceAllLiteral", lambda _m: literal), _text(s)))


def _count(pattern: Any, s: Any) -> int:
    return len(_regex(pattern).findall(_text(s)))


def _align(n: Any, s: Any, *, left: bool) -> str:
    k, text = _int(n), _text(s)
    if k <= 0 or len(text) <= k:
        return text
    return text[:k] if left else text[-k:]


def _b64dec(s: Any) -> str:
    try:
        return base64.b64decode(_text(s), validate=True).decode(errors="replace")
    except ValueError as exc:
        return str(exc)


def _replace_n(s: Any, old: Any, new: Any, n: Any) -> str:
    count = _int(n)
    return _replace("Replace", s, old, new, count if count >= 0 else -1)


# ---- printf: Go's verbs through Python's % ----

_VERB = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+))?([a-zA-Z%])")


def _printf(fmt: Any, *args: Any) -> str:
    values = list(args)
    out: list[str] = []
    pos = 0
    text = _text(fmt)
    for m in _VERB.finditer(text):
        out.append(text[pos : m.start()])
        pos = m.end()
        flags, width, precision, verb = m.groups()
        if verb == "%":
            out.append("%")
            continue
        if not values:
            out.append(f"%!{verb}(MISSING)")
            continue
        out.append(_format_one(values.pop(0), flags, width or "", precision, verb))
    out.append(text[pos:])
    if values:
        out.append("%!(EXTRA " + ", ".join(f"{type(v).__name__}={go_text(v)}" for v in values) + ")")
    return "".join(out)


def _format_one(value: Any, flags: str, width: str, precision: str | None, verb: str) -> str:
    for digits in (width, precision or ""):
        if digits.isdigit() and (len(digits) > 9 or int(digits) > MAX_VALUE):
            raise TemplateRuntimeError(f"printf: a width or precision of {digits} is over {MAX_VALUE:,}")
    spec = "%" + flags + width + (f".{precision}" if precision is not None else "")
    if verb in "vs":
        return (spec + "s") % go_text(value)
    if verb == "q":
        return (spec + "s") % ('"' + go_text(value).replace("\\", "\\\\").replace('"', '\\"') + '"')
    if verb in "dxXob":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"%!{verb}({_go_type(value)}={go_text(value)})"
        return format(value, "b") if verb == "b" else (spec + verb) % value
    if verb in "feEgG":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"%!{verb}({_go_type(value)}={go_text(value)})"
        return (spec + verb) % float(value)
    if verb == "t":
        return (spec + "s") % go_text(value)
    return f"%!{verb}({_go_type(value)}={go_text(value)})"


def _go_type(value: Any) -> str:
    return {str: "string", int: "int", float: "float64", bool: "bool"}.get(type(value), type(value).__name__)


# ---- time: Go's reference-time layouts ----

_LAYOUT = re.compile(
    r"January|Jan|Monday|Mon|MST|2006|Z07:00|Z0700|-07:00|-0700|-07|01|02|_2|03|04|05|06|15|PM|pm|"
    r"\.0+|\.9+|,0+|,9+|1|2|3|4|5"
)


def _layout_piece(token: str, t: datetime, ns: int) -> str:
    simple = {
        "January": "%B",
        "Jan": "%b",
        "Monday": "%A",
        "Mon": "%a",
        "2006": "%Y",
        "06": "%y",
        "01": "%m",
        "02": "%d",
        "15": "%H",
        "03": "%I",
        "04": "%M",
        "05": "%S",
        "PM": "%p",
    }
    if token in simple:
        return t.strftime(simple[token])
    if token == "pm":
        return t.strftime("%p").lower()
    if token in ("MST",):
        return "UTC"
    if token in ("Z07:00", "Z0700"):
        return "Z"
    if token in ("-07:00",):
        return "+00:00"
    if token in ("-0700",):
        return "+0000"
    if token == "-07":
        return "+00"
    if token == "_2":
        return f"{t.day:2d}"
    if token in ("1", "2", "3", "4", "5"):
        return str({"1": t.month, "2": t.day, "3": t.hour % 12 or 12, "4": t.minute, "5": t.second}[token])
    digits = f"{ns % 1_000_000_000:09d}"[: len(token) - 1]
    if token[1] == "9":
        digits = digits.rstrip("0")
        return (token[0] + digits) if digits else ""
    return token[0] + digits


def _as_time(value: Any) -> GoTime:
    if isinstance(value, GoTime):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return GoTime(int(value * 1_000_000_000))
    raise TemplateRuntimeError(f"{go_text(value)!r} is not a time; use toDate or unixToTime first")


def _date(layout: Any, value: Any) -> str:
    t = _as_time(value)
    dt = t.datetime()
    return _LAYOUT.sub(lambda m: _layout_piece(m.group(), dt, t.ns), _text(layout))


_PARSE = {
    "2006": r"(?P<Y>\d{4})",
    "01": r"(?P<m>\d{2})",
    "1": r"(?P<m>\d{1,2})",
    "02": r"(?P<d>\d{2})",
    "2": r"(?P<d>\d{1,2})",
    "_2": r" ?(?P<d>\d{1,2})",
    "15": r"(?P<H>\d{2})",
    "03": r"(?P<I>\d{2})",
    "04": r"(?P<M>\d{2})",
    "05": r"(?P<S>\d{2})",
    "Jan": r"(?P<b>[A-Za-z]{3})",
    "January": r"(?P<B>[A-Za-z]+)",
    "Mon": r"[A-Za-z]{3}",
    "Monday": r"[A-Za-z]+",
    "PM": r"(?P<p>AM|PM)",
    "MST": r"[A-Z]{3,4}",
    "Z07:00": r"(?P<z>Z|[+-]\d{2}:\d{2})",
    "-07:00": r"(?P<z>[+-]\d{2}:\d{2})",
    "-0700": r"(?P<z>[+-]\d{4})",
    "Z0700": r"(?P<z>Z|[+-]\d{4})",
}


def _to_date(layout: Any, value: Any) -> GoTime:
    regex, pos, text = "", 0, _text(layout)
    for m in _LAYOUT.finditer(text):
        regex += re.escape(text[pos : m.start()])
        token = m.group()
        if token in _PARSE:
            regex += _PARSE[token]
        elif token[0] in ".,":
            regex += r"(?:[.,](?P<f>\d+))?" if token[1] == "9" else r"[.,](?P<f>\d+)"
        else:
            regex += re.escape(token)
        pos = m.end()
    regex += re.escape(text[pos:])
    found = re.fullmatch(regex, _text(value).strip())
    if found is None:
        raise TemplateRuntimeError(f"parsing time {_text(value)!r} as {text!r}: cannot parse")
    g = found.groupdict()
    month = int(g["m"]) if g.get("m") else 1
    if g.get("b") or g.get("B"):
        month = datetime.strptime((g.get("b") or g.get("B") or "")[:3], "%b").month
    hour = int(g.get("H") or 0)
    if g.get("I"):
        hour = int(g["I"]) % 12 + (12 if g.get("p") == "PM" else 0)
    zone = g.get("z") or "Z"
    offset = 0 if zone == "Z" else (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 60 + int(zone[-2:])) * 60
    try:
        dt = datetime(
            int(g.get("Y") or 0) or 1,
            month,
            int(g.get("d") or 1),
            hour,
            int(g.get("M") or 0),
            int(g.get("S") or 0),
            tzinfo=timezone.utc,
        )
    except ValueError as exc:
        raise TemplateRuntimeError(f"parsing time {_text(value)!r}: {exc}") from None
    frac = (g.get("f") or "").ljust(9, "0")[:9]
    seconds = int(dt.timestamp()) - offset
    return GoTime(seconds * 1_000_000_000 + int(frac or 0))


def _unix_to_time(value: Any) -> GoTime:
    text = _text(value).strip()
    if not text.lstrip("-").isdigit():
        raise TemplateRuntimeError(f"unixToTime: {text!r} is not a number of seconds (or ms, us, ns)")
    n = int(text)
    digits = len(text.lstrip("-"))
    scale = 1_000_000_000 if digits <= 10 else 1_000_000 if digits <= 13 else 1_000 if digits <= 16 else 1
    return GoTime(n * scale)


def _now() -> GoTime:
    import time

    return GoTime(time.time_ns())


def _bytes(value: Any) -> float:
    try:
        return parse_bytes(_text(value))
    except ValueError:
        return 0.0


def _duration(value: Any) -> float:
    try:
        return parse_duration(_text(value))
    except ValueError:
        return 0.0


def _default(fallback: Any, *given: Any) -> Any:
    return given[0] if given and truthy(given[0]) else fallback


FUNCS: dict[str, Callable[..., Any]] = {
    # Go's built-ins
    "and": _and,
    "or": _or,
    "not": lambda v: not truthy(v),
    "eq": _eq,
    "ne": lambda a, b: not _eq(a, b),
    "lt": _order(lambda a, b: a < b),
    "le": _order(lambda a, b: a <= b),
    "gt": _order(lambda a, b: a > b),
    "ge": _order(lambda a, b: a >= b),
    "len": lambda v: len(v) if isinstance(v, (str, list, dict)) else _fail_len(v),
    "printf": _printf,
    "print": lambda *a: "".join(go_text(v) for v in a),
    "println": lambda *a: " ".join(go_text(v) for v in a) + "\n",
    "urlquery": lambda *a: urllib.parse.quote_plus("".join(go_text(v) for v in a)),
    # strings (Go's strings package names, then sprig's)
    "ToUpper": lambda s: _text(s).upper(),
    "ToLower": lambda s: _text(s).lower(),
    "Title": _title,
    "TrimSpace": lambda s: _text(s).strip(),
    "Trim": lambda s, cut: _text(s).strip(_text(cut)),
    "TrimLeft": lambda s, cut: _text(s).lstrip(_text(cut)),
    "TrimRight": lambda s, cut: _text(s).rstrip(_text(cut)),
    "TrimPrefix": lambda s, p: _text(s).removeprefix(_text(p)),
    "TrimSuffix": lambda s, p: _text(s).removesuffix(_text(p)),
    "Replace": _replace_n,
    "upper": lambda s: _text(s).upper(),
    "lower": lambda s: _text(s).lower(),
    "title": _title,
    "trim": lambda s: _text(s).strip(),
    "trimAll": lambda cut, s: _text(s).strip(_text(cut)),
    "trimPrefix": lambda p, s: _text(s).removeprefix(_text(p)),
    "trimSuffix": lambda p, s: _text(s).removesuffix(_text(p)),
    "replace": lambda old, new, s: _replace("replace", s, old, new),
    "repeat": _repeat,
    "trunc": _trunc,
    "substr": _substr,
    "contains": lambda sub, s: _text(sub) in _text(s),
    "hasPrefix": lambda p, s: _text(s).startswith(_text(p)),
    "hasSuffix": lambda p, s: _text(s).endswith(_text(p)),
    "indent": _indent,
    "nindent": lambda n, s: "\n" + _indent(n, s),
    "alignLeft": lambda n, s: _align(n, s, left=True),
    "alignRight": lambda n, s: _align(n, s, left=False),
    "default": _default,
    "regexReplaceAll": _regex_replace_all,
    "regexReplaceAllLiteral": _regex_replace_literal,
    "count": _count,
    "urlencode": lambda s: urllib.parse.quote_plus(_text(s)),
    "urldecode": lambda s: urllib.parse.unquote_plus(_text(s)),
    "b64enc": lambda s: base64.b64encode(_text(s).encode()).decode(),
    "b64dec": _b64dec,
    # numbers
    "int": _int,
    "float64": _float,
    "add": lambda *a: sum(_int(v) for v in a),
    "sub": lambda a, b: _int(a) - _int(b),
    "mul": lambda *a: math.prod(_int(v) for v in a),
    "div": _div,
    "mod": _mod,
    "addf": lambda *a: math.fsum(_float(v) for v in a),
    "subf": lambda a, *r: _float(a) - math.fsum(_float(v) for v in r),
    "mulf": lambda *a: math.prod(_float(v) for v in a),
    "divf": _divf,
    "max": lambda a, *r: max(_int(v) for v in (a, *r)),
    "min": lambda a, *r: min(_int(v) for v in (a, *r)),
    "maxf": lambda a, *r: max(_float(v) for v in (a, *r)),
    "minf": lambda a, *r: min(_float(v) for v in (a, *r)),
    "ceil": lambda v: float(math.ceil(_float(v))),
    "floor": lambda v: float(math.floor(_float(v))),
    "round": _round,
    "bytes": _bytes,
    "duration": _duration,
    "duration_seconds": _duration,
    # time
    "date": _date,
    "toDate": _to_date,
    "now": _now,
    "unixEpoch": lambda t: _as_time(t).ns // 1_000_000_000,
    "unixEpochMillis": lambda t: _as_time(t).ns // 1_000_000,
    "unixEpochNanos": lambda t: _as_time(t).ns,
    "unixToTime": _unix_to_time,
}


def _fail_len(value: Any) -> int:
    raise TemplateRuntimeError(f"len of {go_text(value)!r}: it has no length")
