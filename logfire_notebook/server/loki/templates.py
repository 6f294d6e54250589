"""The Go templates `line_format` and `label_format` take, as Loki runs them: text and `{{ actions }}` with
pipelines (`{{ .a | upper }}`), sub-expressions, `{{ if }}`/`{{ else if }}`/`{{ else }}`/`{{ end }}`,
`{{ range }}` (over the labels with `range $k, $v := .`), variables, comments, `{{-`/`-}}` trimming, and the
functions of `template_funcs` with `__line__` and `__timestamp__`.

The data is the entry's labels (a missing label is ""). A template that cannot be parsed or names an
unknown function is refused with the query (`TemplateError`); one that fails on an entry raises
`TemplateRuntimeError`, which the pipeline turns into `__error__=TemplateFormatErr`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from logfire_notebook.server.loki.template_funcs import FUNCS, GoTime, TemplateRuntimeError, go_text, truthy
from logfire_notebook.server.loki.units import unquote

__all__ = ["Template", "TemplateError", "TemplateRuntimeError"]

MAX_OUTPUT = 1 << 20
"""A template's text for one entry stops here (a `repeat` or a `range` cannot make more)."""
_MAX_DEPTH = 50


class TemplateError(ValueError):
    """The template is not valid; `str()` says where and why."""


# ---- lexing ----

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>"(?:[^"\\\n]|\\.)*"|`[^`]*`)
    | (?P<num>-?(?:0[xX][0-9a-fA-F]+|\d+\.\d*(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))
    | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.)
    | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>:=|[()|=,])
    )""",
    re.VERBOSE,
)


@dataclass
class _Tok:
    kind: str
    text: str


def _tokens(action: str, template: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(action):
        if action[pos:].strip() == "":
            break
        m = _TOKEN.match(action, pos)
        if m is None or m.end() == pos:
            raise TemplateError(f"template {template!r}: unexpected {action[pos:].strip()[:20]!r} in action")
        kind = m.lastgroup or ""
        out.append(_Tok(kind, m.group(kind)))
        pos = m.end()
    return out


def _actions(text: str) -> list[tuple[str, str]]:
    """The template as ("text", ...) and ("action", ...) pieces, with Go's `{{- ` / ` -}}` trimming."""
    pieces: list[tuple[str, str]] = []
    pos = 0
    trim_next = False
    while True:
        start = text.find("{{", pos)
        if start < 0:
            tail = text[pos:]
            pieces.append(("text", tail.lstrip() if trim_next else tail))
            return pieces
        chunk = text[pos:start]
        body_start = start + 2
        if (
            text.startswith("{{- ", start)
            or text.startswith("{{-\t", start)
            or text.startswith("{{-\n", start)
        ):
            chunk = chunk.rstrip()
            body_start += 1
        pieces.append(("text", chunk.lstrip() if trim_next else chunk))
        end = _action_end(text, body_start)
        body = text[body_start:end]
        trim_next = body.endswith((" -", "\t-", "\n-"))
        if trim_next:
            body = body[:-1]
        pieces.append(("action", body))
        pos = end + 2


def _action_end(text: str, pos: int) -> int:
    quote = ""
    i = pos
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            if close < 0:
                break
            i = close + 2
            continue
        elif ch in "\"`'":
            quote = ch
        elif text.startswith("}}", i):
            return i
        i += 1
    raise TemplateError(f"template {text!r}: unclosed action")


# ---- the parsed form ----


@dataclass
class _Pipe:
    cmds: list[list[Any]]  # each command: operands, as ("field", names) ("var", name, names) ("lit", v)
    decl: list[str] = field(default_factory=list)  # ("ident", name) ("pipe", _Pipe) ("dot",)
    assign: bool = False  # `$x = ...` rather than `$x := ...`


@dataclass
class _If:
    pipe: _Pipe
    body: list[Any]
    orelse: list[Any]


@dataclass
class _Range:
    pipe: _Pipe
    body: list[Any]
    orelse: list[Any]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pieces = _actions(text)
        self.pos = 0
        self.pending: list[_Tok] = []  # the words after an `else`

    def error(self, message: str) -> TemplateError:
        return TemplateError(f"template {self.text!r}: {message}")

    def parse(self) -> list[Any]:
        nodes, stop = self.block(0)
        if stop is not None:
            raise self.error(f"unexpected {{{{{stop}}}}}")
        return nodes

    def block(self, depth: int) -> tuple[list[Any], str | None]:
        """Nodes up to `{{end}}`, `{{else}}` or `{{else if ...}}` (returned as the stop word) or the end."""
        if depth > _MAX_DEPTH:
            raise self.error("too deeply nested")
        nodes: list[Any] = []
        while self.pos < len(self.pieces):
            kind, body = self.pieces[self.pos]
            self.pos += 1
            if kind == "text":
                if body:
                    nodes.append(body)
                continue
            stripped = body.strip()
            if stripped.startswith("/*"):
                continue  # a comment
            tokens = _tokens(stripped, self.text)
            if not tokens:
                raise self.error("missing value for command")
            head = tokens[0].text if tokens[0].kind == "ident" else ""
            if head == "end":
                return nodes, "end"
            if head == "else":
                self.pending = tokens[1:]
                return nodes, "else"
            if head == "if":
                nodes.append(self.if_node(tokens[1:], depth))
            elif head == "range":
                nodes.append(self.range_node(tokens[1:], depth))
            elif head in ("with", "define", "template", "block", "break", "continue"):
                raise self.error(f"{{{{{head}}}}} is not supported in LogQL templates")
            else:
                nodes.append(self.pipe(tokens))
        return nodes, None

    def if_node(self, tokens: list[_Tok], depth: int) -> _If:
        pipe = self.pipe(tokens)
        body, stop = self.block(depth + 1)
        orelse: list[Any] = []
        if stop == "else":
            rest = self.pending
            if rest and rest[0].kind == "ident" and rest[0].text == "if":
                return _If(pipe, body, [self.if_node(rest[1:], depth + 1)])  # `else if` shares the `end`
            if rest:
                raise self.error("unexpected words after else")
            orelse, stop = self.block(depth + 1)
        if stop != "end":
            raise self.error("unexpected EOF: {{if}} needs an {{end}}")
        return _If(pipe, body, orelse)

    def range_node(self, tokens: list[_Tok], depth: int) -> _Range:
        pipe = self.pipe(tokens)
        body, stop = self.block(depth + 1)
        orelse: list[Any] = []
        if stop == "else":
            if self.pending:
                raise self.error("unexpected words after else")
            orelse, stop = self.block(depth + 1)
        if stop != "end":
            raise self.error("unexpected EOF: {{range}} needs an {{end}}")
        return _Range(pipe, body, orelse)

    def pipe(self, tokens: list[_Tok]) -> _Pipe:
        decl: list[str] = []
        assign = False
        ops = [t.text for t in tokens[:4] if t.kind == "op"]
        if tokens and tokens[0].kind == "var" and (":=" in ops or "=" in ops):
            i = 0
            while i < len(tokens) and tokens[i].kind == "var":
                decl.append(tokens[i].text)
                i += 1
                if i < len(tokens) and tokens[i].text == ",":
                    i += 1
            if i >= len(tokens) or tokens[i].text not in (":=", "="):
                raise self.error("bad variable declaration")
            assign = tokens[i].text == "="
            tokens = tokens[i + 1 :]
        pipe, rest = self.commands(tokens)
        if rest:
            raise self.error(f"unexpected {rest[0].text!r}")
        pipe.decl, pipe.assign = decl, assign
        return pipe

    def commands(self, tokens: list[_Tok]) -> tuple[_Pipe, list[_Tok]]:
        cmds: list[list[Any]] = [[]]
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok.text == ")" and tok.kind == "op":
                break
            if tok.text == "|" and tok.kind == "op":
                cmds.append([])
            elif tok.text == "(" and tok.kind == "op":
                inner, rest = self.commands(tokens[i + 1 :])
                if not rest or rest[0].text != ")":
                    raise self.error("unclosed left paren")
                cmds[-1].append(("pipe", inner))
                i = len(tokens) - len(rest)
            else:
                cmds[-1].append(self.operand(tok))
            i += 1
        if any(not cmd for cmd in cmds):
            raise self.error("missing value for command")
        return _Pipe(cmds), tokens[i:]

    def operand(self, tok: _Tok) -> Any:
        if tok.kind == "str":
            try:
                return ("lit", unquote(tok.text))
            except ValueError as exc:
                raise self.error(str(exc)) from None
        if tok.kind == "num":
            text = tok.text
            is_float = any(c in text for c in ".eE") and not text.lower().startswith(("0x", "-0x"))
            return ("lit", float(text) if is_float else int(text, 0))
        if tok.kind == "field":
            return ("dot",) if tok.text == "." else ("field", tuple(tok.text[1:].split(".")))
        if tok.kind == "var":
            name, *names = tok.text.split(".")
            return ("var", name, tuple(names))
        if tok.kind == "ident":
            if tok.text in ("true", "false"):
                return ("lit", tok.text == "true")
            if tok.text == "nil":
                return ("lit", None)
            if tok.text not in FUNCS and tok.text not in ("__line__", "__timestamp__"):
                raise self.error(f'function "{tok.text}" not defined')
            return ("ident", tok.text)
        raise self.error(f"unexpected {tok.text!r}")


# ---- evaluation ----


class _Run:
    def __init__(self, labels: dict[str, str], line: str, ts_ns: int) -> None:
        self.labels = labels
        self.line = line
        self.ts_ns = ts_ns
        self.scopes: list[dict[str, Any]] = [{"$": labels}]
        self.out: list[str] = []
        self.size = 0

    def emit(self, text: str) -> None:
        self.size += len(text)
        if self.size > MAX_OUTPUT:
            raise TemplateRuntimeError(f"the template's output for one entry passed {MAX_OUTPUT} characters")
        self.out.append(text)

    def nodes(self, nodes: list[Any], dot: Any) -> None:
        for node in nodes:
            if isinstance(node, str):
                self.emit(node)
            elif isinstance(node, _If):
                self.scopes.append({})
                taken = truthy(self.pipe(node.pipe, dot))
                self.nodes(node.body if taken else node.orelse, dot)
                self.scopes.pop()
            elif isinstance(node, _Range):
                self.range(node, dot)
            else:
                value = self.pipe(node, dot)
                if not node.decl:
                    self.emit(go_text(value))

    def range(self, node: _Range, dot: Any) -> None:
        self.scopes.append({})
        pipe = _Pipe(node.pipe.cmds)
        value = self.pipe(pipe, dot)
        if isinstance(value, dict):
            items = [(k, value[k]) for k in sorted(value)]
        elif isinstance(value, (list, tuple)):
            items = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            items = [(i, i) for i in range(min(value, MAX_OUTPUT))]
        else:
            raise TemplateRuntimeError(f"range can't iterate over {go_text(value)}")
        if not items:
            self.nodes(node.orelse, dot)
        for key, item in items:
            scope = self.scopes[-1]
            if len(node.pipe.decl) == 1:
                scope[node.pipe.decl[0]] = item
            elif len(node.pipe.decl) == 2:
                scope[node.pipe.decl[0]], scope[node.pipe.decl[1]] = key, item
            self.nodes(node.body, item)
        self.scopes.pop()

    def pipe(self, pipe: _Pipe, dot: Any) -> Any:
        value: Any = None
        for i, cmd in enumerate(pipe.cmds):
            value = self.command(cmd, dot, value, piped=i > 0)
        for name in pipe.decl:
            if pipe.assign:
                scope = next((s for s in reversed(self.scopes) if name in s), None)
                if scope is None:
                    raise TemplateRuntimeError(f"undefined variable: {name}")
                scope[name] = value
            else:
                self.scopes[-1][name] = value
        return value

    def command(self, cmd: list[Any], dot: Any, prev: Any, *, piped: bool) -> Any:
        head = cmd[0]
        if head[0] == "ident":
            args = [self.operand(a, dot) for a in cmd[1:]]
            if piped:
                args.append(prev)
            return self.call(head[1], args)
        if len(cmd) > 1 or piped:
            raise TemplateRuntimeError(f"can't give argument to non-function {head!r}")
        return self.operand(head, dot)

    def call(self, name: str, args: list[Any]) -> Any:
        if name == "__line__":
            return self.line
        if name == "__timestamp__":
            return GoTime(self.ts_ns)
        try:
            return FUNCS[name](*args)
        except TypeError:
            raise TemplateRuntimeError(f"wrong number of args for {name}: got {len(args)}") from None
        except (OverflowError, ValueError, MemoryError) as exc:
            if isinstance(exc, TemplateRuntimeError):
                raise
            raise TemplateRuntimeError(f"error calling {name}: {exc}") from None

    def operand(self, op: Any, dot: Any) -> Any:
        kind = op[0]
        if kind == "lit":
            return op[1]
        if kind == "dot":
            return dot
        if kind == "field":
            return _fields(dot, op[1])
        if kind == "var":
            scope = next((s for s in reversed(self.scopes) if op[1] in s), None)
            if scope is None:
                raise TemplateRuntimeError(f"undefined variable: {op[1]}")
            return _fields(scope[op[1]], op[2])
        if kind == "ident":
            return self.call(op[1], [])
        return self.pipe(op[1], dot)


def _fields(value: Any, names: tuple[str, ...]) -> Any:
    for name in names:
        if not isinstance(value, dict):
            raise TemplateRuntimeError(f"can't evaluate field {name} in type {type(value).__name__}")
        value = value.get(name, "")  # Loki's data is a map of strings: a missing label is ""
    return value


class Template:
    """A compiled template; `render(labels, line, ts_ns)` gives the text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._nodes = _Parser(text).parse()

    def render(self, labels: dict[str, str], line: str, ts_ns: int) -> str:
        run = _Run(labels, line, ts_ns)
        try:
            run.nodes(self._nodes, labels)
        except RecursionError:
            raise TemplateRuntimeError("the template nests too deeply") from None
        return "".join(run.out)
