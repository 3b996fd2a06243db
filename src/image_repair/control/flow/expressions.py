"""CloudFlow expressions: paths (``$Input.a.b[0]``), constructors (keys ending in ``.$``) and Choice
conditions, parsed once at load time into small trees and evaluated without ``eval``.

Condition grammar (lowest precedence first)::

    or   := and ('||' and)*
    and  := not ('&&' not)*
    not  := '!' not | cmp
    cmp  := atom (('==' | '!=' | '<' | '<=' | '>' | '>=') atom)?
    atom := path | "string" | 'string' | number | true | false | null | '(' or ')'

Semantics (chosen to be strict where a typo would otherwise pass silently):
* a path that does not exist is ``null`` in a condition, and an error in a constructor;
* ``==``/``!=`` never equate a boolean with a number; ordering compares two numbers or two
  strings and is false for anything else (``null < 3`` is false);
* ``&&``, ``||``, ``!`` and a bare path as a condition take booleans (``null`` counts as false).
"""
import json
import re
from dataclasses import dataclass
from typing import Any, Optional, Union

from .errors import ExpressionError

ROOTS = ("$Input", "$Output", "$Context")
CONTEXT_FIELDS = {"Execution": {"Name", "Input", "RoleArn"},
                  "Current": {"Name", "Input", "Output", "Error", "RetryCount", "TaskToken"}}
MISSING = object()

TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<path>\$(?:Input|Output|Context)(?:\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\])*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<word>true|false|null)\b
  | (?P<op>==|!=|<=|>=|&&|\|\||<|>|!|\(|\))
""", re.VERBOSE)
PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]")


@dataclass(frozen=True)
class Path:
    root: str                       # "$Input", "$Output" or "$Context"
    parts: tuple                    # field names (str) and list indexes (int)
    text: str

    def resolve(self, scope: dict) -> Any:
        """The value at this path, or MISSING."""
        if self.root not in scope:
            raise ExpressionError("%s is not available here" % self.root)
        value = scope[self.root]
        for part in self.parts:
            if isinstance(part, int):
                if not isinstance(value, list) or part >= len(value):
                    return MISSING
                value = value[part]
            else:
                if not isinstance(value, dict) or part not in value:
                    return MISSING
                value = value[part]
        return value


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Not:
    operand: Any


@dataclass(frozen=True)
class Logical:
    op: str                         # "&&" or "||"
    left: Any
    right: Any


@dataclass(frozen=True)
class Compare:
    op: str
    left: Any
    right: Any


Node = Union[Path, Literal, Not, Logical, Compare]


def parse_path(text: str) -> Path:
    text = text.strip()
    match = TOKEN.match(text)
    if not match or match.lastgroup != "path" or match.end() != len(text):
        raise ExpressionError("%r is not a path: expected $Input, $Output or $Context followed by .field or [index]"
                              % text)
    root = next(r for r in ROOTS if text.startswith(r))
    parts = tuple(name if name else int(index) for name, index in PATH_PART.findall(text[len(root):]))
    if root == "$Context":
        if not parts or parts[0] not in CONTEXT_FIELDS:
            raise ExpressionError("%r: $Context has Execution and Current" % text)
        if len(parts) > 1 and parts[1] not in CONTEXT_FIELDS[parts[0]]:
            raise ExpressionError("%r: $Context.%s has %s" % (text, parts[0], ", ".join(sorted(CONTEXT_FIELDS[parts[0]]))))
    return Path(root, parts, text)


def _tokens(text: str) -> list:
    tokens, position = [], 0
    while position < len(text):
        match = TOKEN.match(text, position)
        if not match:
            raise ExpressionError("condition %r: unexpected %r at offset %d" % (text, text[position:position + 10], position))
        if match.lastgroup != "space":
            tokens.append((match.lastgroup, match.group()))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokens(text)
        self.position = 0

    def fail(self, message: str):
        raise ExpressionError("condition %r: %s" % (self.text, message))

    def peek(self) -> Optional[tuple]:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, value: Optional[str] = None) -> tuple:
        token = self.peek()
        if token is None:
            self.fail("unexpected end" + ("" if value is None else ", expected %r" % value))
        if value is not None and token[1] != value:
            self.fail("expected %r, found %r" % (value, token[1]))
        self.position += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            self.fail("empty")
        node = self.logical("||", self.and_)
        if self.peek() is not None:
            self.fail("unexpected %r" % self.peek()[1])
        return node

    def logical(self, op, operand):
        node = operand()
        while self.peek() == ("op", op):
            self.take()
            node = Logical(op, node, operand())
        return node

    def and_(self):
        return self.logical("&&", self.not_)

    def not_(self):
        if self.peek() == ("op", "!"):
            self.take()
            return Not(self.not_())
        return self.compare()

    def compare(self):
        left = self.atom()
        token = self.peek()
        if token and token[0] == "op" and token[1] in ("==", "!=", "<", "<=", ">", ">="):
            self.take()
            return Compare(token[1], left, self.atom())
        return left

    def atom(self):
        kind, value = self.take()
        if kind == "path":
            try:
                return parse_path(value)
            except ExpressionError as error:
                self.fail(str(error))
        if kind == "string":
            return Literal(_unquote(value))
        if kind == "number":
            return Literal(json.loads(value))
        if kind == "word":
            return Literal({"true": True, "false": False, "null": None}[value])
        if value == "(":
            node = self.logical("||", self.and_)
            self.take(")")
            return node
        self.fail("unexpected %r" % value)


def _unquote(token: str) -> str:
    """A string literal's value: JSON escapes in either quote style."""
    if token[0] == '"':
        return json.loads(token)
    # 'single quoted': turn it into the equivalent double-quoted JSON string.
    body = re.sub(r'\\(.)|"', lambda m: '\\"' if m.group(0) == '"' else ("'" if m.group(1) == "'" else m.group(0)),
                  token[1:-1])
    return json.loads('"%s"' % body)


def parse_condition(text: str) -> Node:
    if not isinstance(text, str):
        raise ExpressionError("a condition must be a string, not %r" % (text,))
    return _Parser(text).parse()


def condition_paths(node: Node) -> list:
    if isinstance(node, Path):
        return [node]
    if isinstance(node, Not):
        return condition_paths(node.operand)
    if isinstance(node, (Logical, Compare)):
        return condition_paths(node.left) + condition_paths(node.right)
    return []


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _boolean(value: Any, node: Node) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ExpressionError("%s is %r, not a boolean" % (getattr(node, "text", "operand"), value))
    return value


def _value(node: Node, scope: dict) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Path):
        value = node.resolve(scope)
        return None if value is MISSING else value
    return evaluate_condition(node, scope)


def evaluate_condition(node: Node, scope: dict) -> bool:
    if isinstance(node, Logical):
        left = _boolean(_value(node.left, scope), node.left)
        if node.op == "&&":
            return left and _boolean(_value(node.right, scope), node.right)
        return left or _boolean(_value(node.right, scope), node.right)
    if isinstance(node, Not):
        return not _boolean(_value(node.operand, scope), node.operand)
    if isinstance(node, Compare):
        left, right = _value(node.left, scope), _value(node.right, scope)
        if node.op in ("==", "!="):
            same = (isinstance(left, bool) == isinstance(right, bool)) and left == right
            return same if node.op == "==" else not same
        if not ((_is_number(left) and _is_number(right)) or (isinstance(left, str) and isinstance(right, str))):
            return False
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[node.op]
    return _boolean(_value(node, scope), node)


# ---- constructors (InputConstructor, OutputConstructor, Parameters) --------------------------
def compile_constructor(template: Any, where: str, roots: tuple) -> Any:
    """Check a constructor at load time: every ``key.$`` value must be a path over ``roots``.
    Returns the template with those values replaced by parsed Paths."""
    if isinstance(template, dict):
        compiled = {}
        for key, value in template.items():
            if isinstance(key, str) and key.endswith(".$"):
                if not isinstance(value, str):
                    raise ExpressionError("%s.%s: the value of a key ending in .$ must be an expression string"
                                          % (where, key))
                try:
                    path = parse_path(value)
                except ExpressionError as error:
                    raise ExpressionError("%s.%s: %s" % (where, key, error))
                if path.root not in roots:
                    raise ExpressionError("%s.%s: %s is not available here (only %s)"
                                          % (where, key, path.root, ", ".join(roots)))
                compiled[key] = path
            else:
                compiled[key] = compile_constructor(value, "%s.%s" % (where, key), roots)
        return compiled
    if isinstance(template, list):
        return [compile_constructor(item, "%s[%d]" % (where, i), roots) for i, item in enumerate(template)]
    return template


def build(compiled: Any, scope: dict) -> Any:
    """Evaluate a compiled constructor against ``scope`` ({"$Input": ..., "$Context": ...})."""
    if isinstance(compiled, dict):
        built = {}
        for key, value in compiled.items():
            if isinstance(value, Path) and key.endswith(".$"):
                resolved = value.resolve(scope)
                if resolved is MISSING:
                    raise ExpressionError("%s: %s does not exist" % (key, value.text))
                built[key[:-2]] = resolved
            else:
                built[key] = build(value, scope)
        return built
    if isinstance(compiled, list):
        return [build(item, scope) for item in compiled]
    return compiled
