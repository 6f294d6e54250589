"""The Go-template forms `line_format` and `label_format` take: `{{.label}}`, `{{ .a | upper }}`,
`{{__line__}}`, `{{__timestamp__}}`, string literals and a few of Loki's functions. Anything else is refused
when the query is parsed, with one sentence naming what is not supported."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone

__all__ = ["Template", "TemplateError"]


class TemplateError(ValueError):
    pass


_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.DOTALL)
_ARG = re.compile(
    r'\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\.[A-Za-z_][A-Za-z0-9_]*|\.|__line__|__timestamp__|[-0-9.]+|[A-Za-z_][A-Za-z0-9_]*)'
)

Func = Callable[..., str]
_FUNCS: dict[str, Func] = {
    "ToUpper": str.upper,
    "upper": str.upper,
    "ToLower": str.lower,
    "lower": str.lower,
    "Title": str.title,
    "title": str.title,
    "TrimSpace": str.strip,
    "trim": str.strip,
    "default": lambda fallback, value="": value or fallback,
    "replace": lambda old, new, value: value.replace(old, new),
    "trunc": lambda n, value: value[: int(float(n))] if float(n) >= 0 else value[int(float(n)) :],
    "len": lambda value: str(len(value)),
    "unixEpoch": lambda value: value,
}

Getter = Callable[[dict[str, str], str, int], str]


class Template:
    """A compiled template; `render(labels, line, ts_ns)` gives the text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._parts: list[str | Getter] = []
        pos = 0
        for m in _ACTION.finditer(text):
            self._parts.append(text[pos : m.start()])
            self._parts.append(self._compile_action(m.group(1)))
            pos = m.end()
        tail = text[pos:]
        if "{{" in tail:
            raise TemplateError(f"template {text!r}: unclosed action")
        self._parts.append(tail)

    def render(self, labels: dict[str, str], line: str, ts_ns: int) -> str:
        return "".join(p if isinstance(p, str) else p(labels, line, ts_ns) for p in self._parts)

    def _compile_action(self, action: str) -> Getter:
        stages = [s.strip() for s in _split_pipes(action)]
        if not stages or not stages[0]:
            raise TemplateError(f"template {self.text!r}: empty action")
        first = self._compile_call(stages[0], piped=False)
        rest = [self._compile_call(stage, piped=True) for stage in stages[1:]]

        def run(labels: dict[str, str], line: str, ts_ns: int) -> str:
            value = first(labels, line, ts_ns, None)
            for call in rest:
                value = call(labels, line, ts_ns, value)
            return value

        return run

    def _compile_call(
        self, text: str, *, piped: bool
    ) -> Callable[[dict[str, str], str, int, str | None], str]:
        words = _args(text, self.text)
        head, args = words[0], [_value(a, self.text) for a in words[1:]]
        if head in _FUNCS:
            func = _FUNCS[head]
            return lambda labels, line, ts, prev: func(
                *[a(labels, line, ts) for a in args], *([prev] if prev is not None else [])
            )
        if args or piped:
            raise TemplateError(f"template {self.text!r}: function {head!r} is not supported")
        value = _value(head, self.text)
        return lambda labels, line, ts, prev: value(labels, line, ts)


def _split_pipes(action: str) -> list[str]:
    parts, current, quote = [], "", ""
    for ch in action:
        if quote:
            current += ch
            if ch == quote:
                quote = ""
        elif ch in '"`':
            quote = ch
            current += ch
        elif ch == "|":
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def _args(text: str, template: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        m = _ARG.match(text, pos)
        if m is None:
            raise TemplateError(f"template {template!r}: cannot read {text[pos:]!r}")
        out.append(m.group(1))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _value(word: str, template: str) -> Getter:
    if word.startswith("."):
        name = word[1:]
        return lambda labels, line, ts: labels.get(name, "")
    if word == "__line__":
        return lambda labels, line, ts: line
    if word == "__timestamp__":
        return lambda labels, line, ts: datetime.fromtimestamp(ts / 1e9, tz=timezone.utc).isoformat()
    if word[0] in '"`':
        text = word[1:-1] if word[0] == "`" else bytes(word[1:-1], "utf-8").decode("unicode_escape")
        return lambda labels, line, ts: text
    if word[0].isdigit() or word[0] == "-":
        return lambda labels, line, ts: word
    raise TemplateError(f"template {template!r}: {word!r} is not supported")
