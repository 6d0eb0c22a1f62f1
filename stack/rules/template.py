"""Alert templates: the part of Go's ``text/template`` that Prometheus rule files use.

Annotations such as ``{{ $labels.instance }} is down ({{ $value | humanize }})`` are Go
templates upstream, so a rule file copied from the Prometheus docs must render the same here.
No Python library speaks Go's template language (Jinja2 looks similar but has other syntax for
pipelines, variables and ``range``), hence this small interpreter.

It is sandboxed by construction: a template can only read map keys, the two fields of a query
result sample (``.Labels``, ``.Value``) and call the functions in :data:`FUNCTIONS`. There is no
attribute access on arbitrary objects and no way to reach Python builtins, so a rule file can never
execute Python code. Templates are parsed when the rule file loads, so an unsupported construct or
an unknown function is a load error with the template's position, as upstream reports it.

Pieces, top-down: :class:`Template` (parse once, ``execute`` many times), the parser building a
small tree of nodes, the evaluator walking it, and the function table (``funcs.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from stack.rules.template_funcs import FUNCTIONS, TemplateError, go_print, is_true

# Variables every Prometheus alert template can use (upstream rules/alerting.go prepends these).
PRELUDE = (
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
    "{{$externalURL := .ExternalURL}}{{$value := .Value}}"
)


class Template:
    """A parsed template. ``Template(text, name)`` raises TemplateError on a syntax error."""

    def __init__(self, text: str, name: str = "template", prelude: bool = True):
        self.name = name
        self.text = text
        source = (PRELUDE if prelude else "") + text
        self._offset = len(PRELUDE) if prelude else 0
        self.defines: dict[str, list[Node]] = {}
        self.root = _Parser(source, name, self._offset, self.defines).parse()

    def execute(self, data: dict[str, Any], funcs: dict[str, Any] | None = None) -> str:
        """Render with ``data`` as ``.``; ``funcs`` adds or overrides functions (``query``...)."""
        table = dict(FUNCTIONS)
        if funcs:
            table.update(funcs)
        out: list[str] = []
        _Exec(table, self.defines, self.name).walk(self.root, data, {"$": data}, out)
        return "".join(out)


def expand(text: str, data: dict[str, Any], funcs: dict[str, Any] | None = None, name: str = "t") -> str:
    """Render a rule template; errors become upstream's ``<error expanding template: ...>`` text."""
    try:
        return Template(text, name).execute(data, funcs)
    except TemplateError as e:
        return f"<error expanding template: {e}>"


# --- the tree -------------------------------------------------------------------------------


@dataclass
class Node:
    pos: int


@dataclass
class Text(Node):
    text: str


@dataclass
class Command(Node):
    """One stage of a pipeline: ``fn arg arg`` or a single operand."""

    args: list[Any]  # operands: Field, Variable, Literal, Ident, Pipe


@dataclass
class Pipe(Node):
    decl: list[str]  # variables declared (``$x :=``) or assigned
    commands: list[Command]
    is_assign: bool = False


@dataclass
class Action(Node):
    pipe: Pipe


@dataclass
class Branch(Node):
    kind: str  # "if" | "range" | "with"
    pipe: Pipe
    body: list[Node]
    else_body: list[Node] = field(default_factory=list)


@dataclass
class TemplateCall(Node):
    name: str
    pipe: Pipe | None


@dataclass
class Field:
    chain: list[str]  # ".Labels.instance" -> ["Labels", "instance"]; "." -> []


@dataclass
class Variable:
    name: str  # "$labels"
    chain: list[str]


@dataclass
class Chain:
    """Fields read from the result of a parenthesised pipeline: ``(first $x).Labels.job``."""

    pipe: Pipe
    chain: list[str]


@dataclass
class Literal:
    value: Any


@dataclass
class Ident:
    name: str


# --- lexing and parsing ----------------------------------------------------------------------

_ACTION_RE = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_TOKEN_RE = re.compile(
    r"""\s*(?:
      (?P<str>"(?:[^"\\\n]|\\.)*")
    | (?P<raw>`[^`]*`)
    | (?P<chr>'(?:[^'\\]|\\.)+')
    | (?P<num>[-+]?(?:0[xX][0-9a-fA-F]+|\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))
    | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
    | (?P<field>(?:\.[A-Za-z0-9_]+)+|\.)
    | (?P<decl>:=|=)
    | (?P<punct>[|(),])
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.X,
)
_KEYWORDS = {"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"}


class _Parser:
    def __init__(self, source: str, name: str, offset: int, defines: dict[str, list[Node]]):
        self.source, self.name, self.offset, self.defines = source, name, offset, defines
        self.items = self._lex()
        self.i = 0

    def _error(self, pos: int, message: str) -> TemplateError:
        p = max(pos - self.offset, 0)
        line = self.source[self.offset :][:p].count("\n") + 1
        return TemplateError(f"template: {self.name}:{line}: {message}")

    def _lex(self) -> list[tuple[str, Any, int]]:
        """Split into ("text", str, pos) and ("action", tokens, pos), applying {{- -}} trimming."""
        items: list[tuple[str, Any, int]] = []
        pos = 0
        for m in _ACTION_RE.finditer(self.source):
            text = self.source[pos : m.start()]
            if m.group(1):
                text = text.rstrip()
            if items and items[-1][0] == "trim":
                items.pop()
                text = text.lstrip()
            if text:
                items.append(("text", text, pos))
            body = m.group(2).strip()
            if not (body.startswith("/*") and body.endswith("*/")):
                items.append(("action", self._tokens(body, m.start()), m.start()))
            if m.group(3):
                items.append(("trim", None, m.end()))
            pos = m.end()
        rest = self.source[pos:]
        if items and items[-1][0] == "trim":
            items.pop()
            rest = rest.lstrip()
        if "{{" in rest:
            raise self._error(pos + rest.index("{{"), "unclosed action")
        if rest:
            items.append(("text", rest, pos))
        return items

    def _tokens(self, body: str, pos: int) -> list[tuple[str, str]]:
        tokens, i = [], 0
        while i < len(body):
            m = _TOKEN_RE.match(body, i)
            if not m or m.end() == i:
                if body[i:].strip() == "":
                    break
                raise self._error(pos, f"unexpected {body[i:].strip()[:10]!r} in command")
            kind = m.lastgroup
            tokens.append((kind, m.group(kind)))
            i = m.end()
        return tokens

    # Grammar: list of nodes until one of the `stop` keywords.
    def parse(self) -> list[Node]:
        nodes, stop = self._list({"end", "else"})
        if stop is not None:
            raise self._error(self.items[self.i - 1][2], f"unexpected {{{{{stop[0]}}}}}")
        return nodes

    def _list(self, stops: set[str]) -> tuple[list[Node], tuple[str, list, int] | None]:
        nodes: list[Node] = []
        while self.i < len(self.items):
            kind, value, pos = self.items[self.i]
            self.i += 1
            if kind == "text":
                nodes.append(Text(pos, value))
                continue
            tokens = value
            if not tokens:
                raise self._error(pos, "missing value for command")
            word = tokens[0][1] if tokens[0][0] == "ident" else None
            if word in stops:
                return nodes, (word, tokens[1:], pos)
            if word in ("if", "range", "with"):
                nodes.append(self._branch(word, tokens[1:], pos))
            elif word in ("define", "block"):
                name = self._string_arg(tokens[1:], pos, word)
                body, stop = self._list({"end"})
                if stop is None:
                    raise self._error(pos, f"unexpected EOF in {word}")
                self.defines[name] = body
                if word == "block":
                    rest = tokens[2:]
                    nodes.append(TemplateCall(pos, name, self._pipe(rest, pos) if rest else None))
            elif word == "template":
                name = self._string_arg(tokens[1:], pos, word)
                rest = tokens[2:]
                nodes.append(TemplateCall(pos, name, self._pipe(rest, pos) if rest else None))
            elif word in _KEYWORDS:
                raise self._error(pos, f"unexpected {{{{{word}}}}}")
            else:
                nodes.append(Action(pos, self._pipe(tokens, pos)))
        return nodes, None

    def _string_arg(self, tokens, pos, word) -> str:
        if not tokens or tokens[0][0] not in ("str", "raw"):
            raise self._error(pos, f"{word} requires a quoted template name")
        return _unquote(tokens[0][0], tokens[0][1])

    def _branch(self, kind: str, tokens, pos: int) -> Branch:
        pipe = self._pipe(tokens, pos, allow_decl=True)
        body, stop = self._list({"end", "else"})
        if stop is None:
            raise self._error(pos, f"unexpected EOF in {kind}")
        branch = Branch(pos, kind, pipe, body)
        if stop[0] == "else":
            rest = stop[1]
            if rest and rest[0] == ("ident", "if") or rest and rest[0] == ("ident", "with"):
                # {{else if ...}} / {{else with ...}}: a nested branch that shares our {{end}}
                nested = self._branch(rest[0][1], rest[1:], stop[2])
                branch.else_body = [nested]
                return branch
            branch.else_body, stop2 = self._list({"end"})
            if stop2 is None:
                raise self._error(pos, f"unexpected EOF in {kind}")
        return branch

    def _pipe(self, tokens, pos: int, allow_decl: bool = True) -> Pipe:
        decl: list[str] = []
        is_assign = False
        # "$x := ..." or "$i, $e := ..." or "$x = ..."
        j = 0
        while j < len(tokens) and tokens[j][0] == "var":
            decl.append(tokens[j][1])
            j += 1
            if j < len(tokens) and tokens[j] == ("punct", ","):
                j += 1
                continue
            break
        if decl and j < len(tokens) and tokens[j][0] == "decl":
            is_assign = tokens[j][1] == "="
            tokens = tokens[j + 1 :]
        else:
            decl = []
        commands: list[Command] = []
        current: list[Any] = []
        k = 0
        while k < len(tokens):
            kind, text = tokens[k]
            if (kind, text) == ("punct", "|"):
                if not current:
                    raise self._error(pos, "missing command before |")
                commands.append(Command(pos, current))
                current = []
            elif (kind, text) == ("punct", "("):
                depth, m = 1, k + 1
                while m < len(tokens) and depth:
                    depth += {("punct", "("): 1, ("punct", ")"): -1}.get(tokens[m], 0)
                    m += 1
                if depth:
                    raise self._error(pos, "unclosed left paren")
                inner: Any = self._pipe(tokens[k + 1 : m - 1], pos, allow_decl=False)
                if m < len(tokens) and tokens[m][0] == "field" and tokens[m][1] != ".":
                    inner = Chain(inner, [p for p in tokens[m][1].split(".") if p])  # (first .).Labels
                    m += 1
                current.append(inner)
                k = m
                continue
            elif (kind, text) == ("punct", ")"):
                raise self._error(pos, "unexpected right paren")
            else:
                current.append(self._operand(kind, text, pos))
            k += 1
        if current:
            commands.append(Command(pos, current))
        if not commands:
            raise self._error(pos, "missing value for command")
        for cmd in commands:
            head = cmd.args[0]
            if isinstance(head, Ident) and head.name not in FUNCTIONS and head.name not in _RUNTIME_FUNCS:
                raise self._error(pos, f'function "{head.name}" not defined')
        return Pipe(pos, decl, commands, is_assign)

    def _operand(self, kind: str, text: str, pos: int) -> Any:
        if kind in ("str", "raw", "chr"):
            return Literal(_unquote(kind, text))
        if kind == "num":
            return Literal(
                float(text)
                if any(c in text for c in ".eE") and not text.lower().startswith(("0x", "-0x", "+0x"))
                else int(text, 0)
            )
        if kind == "var":
            name, *chain = text.split(".")
            return Variable(name, chain)
        if kind == "field":
            return Field([p for p in text.split(".") if p])
        if kind == "ident":
            if text in ("true", "false"):
                return Literal(text == "true")
            if text == "nil":
                return Literal(None)
            if text in _KEYWORDS:
                raise self._error(pos, f"unexpected {text!r} in command")
            return Ident(text)
        raise self._error(pos, f"unexpected {text!r} in command")


# Functions supplied per execution (they need the rule manager's query engine or clock).
_RUNTIME_FUNCS = {"query", "now", "externalURL", "pathPrefix"}

_GO_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
}


def _unquote(kind: str, text: str) -> str:
    if kind == "raw":
        return text[1:-1]
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            n = body[i + 1]
            if n in _GO_ESCAPES:
                out.append(_GO_ESCAPES[n])
                i += 2
                continue
            if n in "xuU":
                width = {"x": 2, "u": 4, "U": 8}[n]
                out.append(chr(int(body[i + 2 : i + 2 + width], 16)))
                i += 2 + width
                continue
        out.append(c)
        i += 1
    return "".join(out)


# --- execution -------------------------------------------------------------------------------


class _Exec:
    def __init__(self, funcs: dict[str, Any], defines: dict[str, list[Node]], name: str):
        self.funcs, self.defines, self.name = funcs, defines, name
        self.depth = 0

    def walk(self, nodes: list[Node], dot: Any, scope: dict[str, Any], out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, Text):
                out.append(node.text)
            elif isinstance(node, Action):
                value = self.pipe(node.pipe, dot, scope)
                if not node.pipe.decl:
                    out.append(go_print(value))
            elif isinstance(node, Branch):
                self.branch(node, dot, scope, out)
            elif isinstance(node, TemplateCall):
                body = self.defines.get(node.name)
                if body is None:
                    raise TemplateError(f'template: {self.name}: no such template "{node.name}"')
                self.depth += 1
                if self.depth > 100:
                    raise TemplateError(f"template: {self.name}: exceeded maximum template depth")
                arg = self.pipe(node.pipe, dot, scope) if node.pipe else None
                self.walk(body, arg, {"$": arg}, out)
                self.depth -= 1

    def branch(self, node: Branch, dot: Any, scope: dict[str, Any], out: list[str]) -> None:
        inner = dict(scope)
        if node.kind == "range":
            value = self.pipe(Pipe(node.pipe.pos, [], node.pipe.commands), dot, inner)
            items = _range_items(value, self.name)
            if not items:
                self.walk(node.else_body, dot, inner, out)
            for key, elem in items:
                if len(node.pipe.decl) == 1:
                    inner[node.pipe.decl[0]] = elem
                elif len(node.pipe.decl) == 2:
                    inner[node.pipe.decl[0]], inner[node.pipe.decl[1]] = key, elem
                self.walk(node.body, elem, inner, out)
            return
        value = self.pipe(node.pipe, dot, inner)
        if is_true(value):
            self.walk(node.body, value if node.kind == "with" else dot, inner, out)
        else:
            self.walk(node.else_body, dot, scope, out)

    def pipe(self, pipe: Pipe, dot: Any, scope: dict[str, Any]) -> Any:
        value: Any = _MISSING
        for cmd in pipe.commands:
            value = self.command(cmd, dot, scope, value)
        for name in pipe.decl:
            if pipe.is_assign and name not in scope:
                raise TemplateError(f"template: {self.name}: undefined variable: {name}")
            scope[name] = value
        return value

    def command(self, cmd: Command, dot: Any, scope: dict[str, Any], piped: Any) -> Any:
        head, *rest = cmd.args
        if isinstance(head, Ident):
            fn = self.funcs.get(head.name)
            if fn is None:
                raise TemplateError(f'template: {self.name}: function "{head.name}" not defined')
            args = [self.operand(a, dot, scope) for a in rest]
            if piped is not _MISSING:
                args.append(piped)
            try:
                return fn(*args)
            except TemplateError:
                raise
            except (TypeError, ValueError, IndexError, KeyError, OverflowError, ZeroDivisionError) as e:
                raise TemplateError(f"template: {self.name}: error calling {head.name}: {e}") from None
        if rest or piped is not _MISSING:
            raise TemplateError(f"template: {self.name}: can't give argument to non-function")
        return self.operand(head, dot, scope)

    def operand(self, op: Any, dot: Any, scope: dict[str, Any]) -> Any:
        if isinstance(op, Literal):
            return op.value
        if isinstance(op, Field):
            return _lookup(dot, op.chain, self.name)
        if isinstance(op, Variable):
            if op.name not in scope:
                raise TemplateError(f"template: {self.name}: undefined variable: {op.name}")
            return _lookup(scope[op.name], op.chain, self.name)
        if isinstance(op, Pipe):
            return self.pipe(op, dot, dict(scope))
        if isinstance(op, Chain):
            return _lookup(self.pipe(op.pipe, dot, dict(scope)), op.chain, self.name)
        if isinstance(op, Ident):
            return self.command(Command(0, [op]), dot, scope, _MISSING)
        raise TemplateError(f"template: {self.name}: bad operand")


_MISSING = object()


def _lookup(value: Any, chain: list[str], name: str) -> Any:
    """Follow ``.A.B``: map keys (missing key -> ""), or the fields of a query-result sample."""
    for key in chain:
        if isinstance(value, dict):
            value = value.get(key, "")
        elif hasattr(value, "template_field"):
            value = value.template_field(key)
        else:
            kind = type(value).__name__
            raise TemplateError(f"template: {name}: can't evaluate field {key} in type {kind}")
    return value


def _range_items(value: Any, name: str) -> list[tuple[Any, Any]]:
    if value is None or value == "":
        return []
    if isinstance(value, dict):
        return sorted(value.items(), key=lambda kv: str(kv[0]))
    if isinstance(value, list | tuple):
        return list(enumerate(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return [(i, i) for i in range(value)]
    raise TemplateError(f"template: {name}: range can't iterate over {go_print(value)}")
