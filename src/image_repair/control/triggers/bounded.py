"""Reading untrusted JSON at the trigger edges within bounds: size, nesting depth, encodings.

Python's ``json`` recurses once per nesting level: a 2 KB text nested 1,000 deep raises
RecursionError, and so do ``json.dumps`` and any recursive walk of such a value. So nothing here
hands a text to ``json.loads`` (or walks a value) before its depth is known to be within bounds:

* ``scan`` measures a text in one linear pass (no recursion, no regular expression that can
  backtrack): its nesting depth and, when it is a JSON array, where each element starts and ends,
  so a batch's elements are judged one by one (a bad event never stops the good ones);
* ``measure`` does the same for a value that is already Python (a test's or the local runner's
  dict or list), with an explicit stack;
* ``preview`` (and ``cut``) quote at most a short prefix of a bad value in an error message.

Every problem is a ``TooBig`` or ``ValueError`` with a one-line message; nothing else is raised.
"""
import json
import re
from typing import Any, List, NamedTuple, Optional

# Characters that matter to nesting: string quotes, escapes, brackets, the array separator.
_SPECIAL = re.compile(r'["\\\[\]{},]')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
PREVIEW_CHARS = 32
MAX_INT_DIGITS = 40


class TooBig(ValueError):
    """A text or value over a bound (size, depth or count)."""


class Element(NamedTuple):
    """One top-level value of a scanned text: its text span and nesting depth."""
    start: int
    end: int
    depth: int


class Scan(NamedTuple):
    is_array: bool              # the text is one JSON array: ``elements`` are its elements
    elements: List[Element]     # otherwise one element, the whole text
    balanced: bool              # brackets and strings close, nothing follows the array


def preview(value: Any, limit: int = PREVIEW_CHARS) -> str:
    """A bad value for an error message: a short prefix of a string, else its type."""
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return "%r... (%d chars)" % (value[:limit], len(value))
    if isinstance(value, (bool, int, float)) or value is None:
        return repr(value)[:limit]
    return "a %s" % type(value).__name__


def cut(text: str, limit: int = PREVIEW_CHARS) -> str:
    """A name or code for a message, unquoted: at most ``limit`` characters of it, control
    characters escaped (a message stays one line)."""
    shown = _CONTROL.sub(lambda m: "\\x%02x" % ord(m.group()), text[:limit])
    return shown if len(text) <= limit else "%s... (%d chars)" % (shown, len(text))


def one_line(message: str) -> str:
    """A message with its control characters (newlines...) escaped."""
    return _CONTROL.sub(lambda m: "\\x%02x" % ord(m.group()), message)


def scan(text: str) -> Scan:
    """Nesting depths and element spans of a JSON text, in one pass over its special characters.
    The depth of an array's element does not count the array itself. Malformed JSON is not
    detected here (json.loads does that, element by element); unbalanced brackets are."""
    body = text.strip()
    offset = len(text) - len(text.lstrip())
    is_array = body.startswith("[")
    elements: List[Element] = []
    depth = deepest = 0
    start = offset + 1 if is_array else offset
    in_string = False
    escaped_at = -1             # the position a backslash escapes, inside a string
    closed_at: Optional[int] = None
    for match in _SPECIAL.finditer(text):
        position, char = match.start(), match.group()
        if position == escaped_at:
            continue
        if in_string:
            if char == "\\":
                escaped_at = position + 1
            elif char == '"':
                in_string = False
            continue
        if closed_at is not None:       # something after the top-level array closed
            return Scan(is_array, elements, False)
        if char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth - (1 if is_array else 0))
        elif char in "]}":
            depth -= 1
            if depth < 0:
                return Scan(is_array, elements, False)
            if is_array and depth == 0:
                elements.append(Element(start, position, deepest))
                closed_at = position
        elif char == "," and is_array and depth == 1:
            elements.append(Element(start, position, deepest))
            start, deepest = position + 1, 0
    if not is_array:
        elements = [Element(offset, offset + len(body), deepest)]
    balanced = depth == 0 and not in_string
    if is_array and closed_at is not None and text[closed_at + 1:].strip():
        balanced = False
    if is_array and len(elements) == 1 and not text[elements[0].start:elements[0].end].strip():
        elements = []           # "[]"
    return Scan(is_array, elements, balanced)


def loads(text: str, max_depth: int, what: str = "the JSON") -> Any:
    """json.loads, after checking the text's nesting depth (ValueError with a one-line message)."""
    found = scan(text)
    if not found.balanced:
        raise ValueError("%s is malformed JSON (unbalanced brackets or strings)" % what)
    depth = max((e.depth for e in found.elements), default=0) + (1 if found.is_array else 0)
    if depth > max_depth:
        raise TooBig("%s is nested deeper than %d levels" % (what, max_depth))
    try:
        return json.loads(text, parse_int=_bounded_int)
    except ValueError as error:
        raise ValueError("%s is malformed JSON: %s" % (what, str(error)[:80]))


def _bounded_int(digits: str) -> int:
    # Python 3.10 (FC's runtime) converts a long digit string in quadratic time
    if len(digits) > MAX_INT_DIGITS:
        raise ValueError("an integer of %d digits (at most %d)" % (len(digits), MAX_INT_DIGITS))
    return int(digits)


def measure(value: Any, max_depth: int, max_nodes: int, max_chars: int, what: str = "the value") -> None:
    """Check a Python value (dicts, lists, strings...) against the bounds without recursion:
    nesting depth, number of containers and scalars, total characters of its strings and keys."""
    stack = [(value, 1)]
    nodes = chars = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > max_nodes:
            raise TooBig("%s has more than %d values" % (what, max_nodes))
        if isinstance(item, str):
            chars += len(item)
        elif isinstance(item, dict):
            if depth > max_depth:
                raise TooBig("%s is nested deeper than %d levels" % (what, max_depth))
            for key, child in item.items():
                chars += len(key) if isinstance(key, str) else 0
                stack.append((child, depth + 1))
        elif isinstance(item, (list, tuple)):
            if depth > max_depth:
                raise TooBig("%s is nested deeper than %d levels" % (what, max_depth))
            stack.extend((child, depth + 1) for child in item)
        if chars > max_chars:
            raise TooBig("%s holds more than %d characters" % (what, max_chars))
