"""Typed, bounded records without pydantic, for what a Function Compute step touches on every
first event (issue 12): the flow's event and state, the start parameters read back from the
store, the store's records and the function's settings.

Why not pydantic here: building pydantic models is most of a function's cold start above the SDK
import it needs anyway (docs/bench.md, section 3: ``import pydantic`` plus the first model build
cost about 0.16 x the bare ``import alibabacloud_ecs20140526.client``). Plain dataclasses with the
explicit checks below cost almost nothing to define. pydantic stays at the other edges (the event
and sweep triggers, the CLI's reports).

Two pieces:

* ``Fields``: reads one raw mapping field by field, converting and bounding each value, and
  collects every problem. ``Invalid`` carries them in pydantic's ``errors()`` shape (``loc``,
  ``type``, ``msg``, ``input``, ``ctx``, with pydantic's wording), so the one formatter,
  ``models.describe_validation_error``, words both alike and the messages users see did not change.
* ``Record``: a dataclass mixin with the few pydantic methods the control plane calls
  (``model_validate``, ``model_validate_json``, ``model_dump``, ``model_dump_json``,
  ``model_copy``), so the code reads the same at every edge. A subclass says how a raw mapping is
  checked in ``check(fields)``; the constructor itself trusts its caller (our own code), as
  pydantic's ``model_construct`` does.
"""
import copy
import dataclasses
import json
import math
import re
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Type, TypeVar

MISSING: Any = dataclasses.MISSING
TRUE_WORDS = ("1", "on", "t", "true", "y", "yes")      # pydantic's lax booleans, for environment values
FALSE_WORDS = ("0", "off", "f", "false", "n", "no")
MAX_JSON_TEXT = 4 * 1024 * 1024          # a stored record's JSON (an execution is a few KB)

R = TypeVar("R", bound="Record")


class Invalid(ValueError):
    """Every problem of one raw mapping, each a dict shaped like one of pydantic's ``errors()``."""

    def __init__(self, title: str, problems: List[dict]):
        super().__init__("%d validation error(s) for %s" % (len(problems), title))
        self.title = title
        self.problems = problems

    def errors(self, include_url: bool = False) -> List[dict]:    # pydantic's signature
        return list(self.problems)


def _words(choices: Sequence[Any]) -> str:
    quoted = [repr(c) if isinstance(c, str) else str(c) for c in choices]
    return quoted[0] if len(quoted) == 1 else "%s or %s" % (", ".join(quoted[:-1]), quoted[-1])


class Fields:
    """Reads a raw mapping one named field at a time: each method returns the field's converted
    value (or its default) and records a problem instead of raising, so one ``Invalid`` names
    every bad field. ``done()`` raises it, and refuses unknown names when ``forbid_extra``."""

    def __init__(self, title: str, raw: Any, forbid_extra: bool = False, loc: Tuple = ()):
        self.title, self.loc, self.forbid_extra = title, loc, forbid_extra
        self.problems: List[dict] = []
        self.seen: set = set()
        if isinstance(raw, Record):
            raw = raw.model_dump()
        if not isinstance(raw, Mapping):
            self.problem((), "dict_type", "Input should be a valid dictionary", raw)
            raw = {}
        self.raw = raw

    def problem(self, name: Any, kind: str, message: str, value: Any = None, **ctx: Any) -> None:
        loc = self.loc + (tuple(name) if isinstance(name, tuple) else (name,))
        entry = {"loc": loc, "type": kind, "msg": message, "input": value}
        if ctx:
            entry["ctx"] = ctx
        self.problems.append(entry)

    def _take(self, name: str, default: Any, optional: bool) -> Tuple[bool, Any]:
        """(present, value): absent, or None where None is allowed, is the default."""
        self.seen.add(name)
        if name not in self.raw:
            if default is MISSING:
                self.problem(name, "missing", "Field required")
            return False, None if default is MISSING else _fresh(default)
        value = self.raw[name]
        if value is None and optional:
            return False, None
        return True, value

    def text(self, name: str, default: Any = MISSING, optional: bool = False, min_length: int = 0,
             max_length: int = 128, pattern: Optional[str] = None) -> Optional[str]:
        present, value = self._take(name, default, optional)
        if not present:
            return value
        if not isinstance(value, str):
            return self.problem(name, "string_type", "Input should be a valid string", value)
        if len(value) < min_length:
            return self.problem(name, "string_too_short", "String should have at least %d character%s"
                                % (min_length, "" if min_length == 1 else "s"), value, min_length=min_length)
        if len(value) > max_length:       # before the pattern: a long value is never matched
            return self.problem(name, "string_too_long", "String should have at most %d characters" % max_length,
                                value, max_length=max_length)
        if pattern is not None and not re.search(pattern, value):     # re caches what it compiles
            return self.problem(name, "string_pattern_mismatch", "String should match pattern '%s'" % pattern,
                                value, pattern=pattern)
        return value

    def integer(self, name: str, default: Any = MISSING, optional: bool = False, ge: Optional[int] = None,
                le: Optional[int] = None) -> Optional[int]:
        present, value = self._take(name, default, optional)
        if not present:
            return value
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit() and len(value) <= 32:
            value = int(value)
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            return self.problem(name, "int_type", "Input should be a valid integer", value)
        return self._bounded(name, value, ge, le)

    def number(self, name: str, default: Any = MISSING, optional: bool = False, ge: Optional[float] = None,
               le: Optional[float] = None) -> Optional[float]:
        present, value = self._take(name, default, optional)
        if not present:
            return value
        if isinstance(value, str) and len(value) <= 64:
            try:
                value = float(value)
            except ValueError:
                return self.problem(name, "float_parsing",
                                    "Input should be a valid number, unable to parse string as a number", value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return self.problem(name, "float_type", "Input should be a valid number", value)
        if not math.isfinite(value):
            return self.problem(name, "finite_number", "Input should be a finite number", value)
        return self._bounded(name, float(value), ge, le)

    def _bounded(self, name: str, value: Any, ge: Any, le: Any) -> Any:
        if ge is not None and value < ge:
            return self.problem(name, "greater_than_equal", "Input should be greater than or equal to %s" % ge,
                                value, ge=ge)
        if le is not None and value > le:
            return self.problem(name, "less_than_equal", "Input should be less than or equal to %s" % le,
                                value, le=le)
        return value

    def boolean(self, name: str, default: Any = MISSING) -> Optional[bool]:
        present, value = self._take(name, default, False)
        if not present:
            return value
        if isinstance(value, str) and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
            return value.strip().lower() in TRUE_WORDS
        if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
            return bool(value)
        if not isinstance(value, bool):
            return self.problem(name, "bool_parsing", "Input should be a valid boolean, unable to interpret input",
                                value)
        return value

    def choice(self, name: str, choices: Sequence[Any], default: Any = MISSING, optional: bool = False) -> Any:
        present, value = self._take(name, default, optional)
        if not present:
            return value
        for option in choices:        # an Enum member equals its value; the option itself is kept
            if type(value) in (str, int, type(option)) and value == option:
                return option
        return self.problem(name, "literal_error", "Input should be %s" % _words([getattr(c, "value", c) for c in choices]),
                            value, expected=_words(choices))

    def mapping(self, name: str, default: Any = MISSING, optional: bool = False) -> Optional[dict]:
        present, value = self._take(name, default, optional)
        if not present:
            return value
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            return self.problem(name, "dict_type", "Input should be a valid dictionary", value)
        return dict(value)

    def text_list(self, name: str, default: Any = MISSING, optional: bool = False, min_items: int = 0,
                  max_items: int = 64, max_length: int = 128) -> Optional[List[str]]:
        present, value = self._take(name, default, optional)
        if not present:
            return value
        if not isinstance(value, (list, tuple)):
            return self.problem(name, "list_type", "Input should be a valid list", value)
        if len(value) > max_items:
            return self.problem(name, "too_long", "List should have at most %d items after validation, not %d"
                                % (max_items, len(value)), None, max_length=max_items)
        if len(value) < min_items:
            return self.problem(name, "too_short", "List should have at least %d item after validation, not %d"
                                % (min_items, len(value)), value, min_length=min_items)
        before = len(self.problems)
        for index, entry in enumerate(value):
            if not isinstance(entry, str):
                self.problem((name, index), "string_type", "Input should be a valid string", entry)
            elif len(entry) > max_length:
                self.problem((name, index), "string_too_long", "String should have at most %d characters"
                             % max_length, entry, max_length=max_length)
        return list(value) if len(self.problems) == before else None

    def record(self, name: str, kind: Type["Record"], default: Any = MISSING, optional: bool = False) -> Any:
        """A nested record (checked by its own ``check``; its problems are located under ``name``)."""
        present, value = self._take(name, default, optional)
        if not present:
            return value
        if isinstance(value, kind):
            return value
        if not isinstance(value, Mapping):
            return self.problem(name, "model_type", "Input should be a valid dictionary or instance of %s"
                                % kind.__name__, value)
        nested = Fields(kind.__name__, value, kind.forbid_extra, self.loc + (name,))
        values = kind.check(nested)
        nested.finish()
        self.problems += nested.problems
        return None if nested.problems else kind(**values)

    def custom(self, name: str, check: Callable[[Any], Any], value: Any) -> Any:
        """``check(value)``: a converted value, or ValueError whose text is the problem."""
        try:
            return check(value)
        except ValueError as error:
            return self.problem(name, "value_error", "Value error, %s" % error, value)

    def finish(self) -> None:
        """Unknown names, when refused, as pydantic lists them (after the fields' own problems)."""
        if self.forbid_extra:
            for name in list(self.raw)[:64]:
                if name not in self.seen:
                    self.problem(name, "extra_forbidden", "Extra inputs are not permitted", self.raw[name])
            extra = sum(1 for name in self.raw if name not in self.seen)
            if extra > 64:
                self.problem("parameters", "extra_forbidden", "and %d more unknown names" % (extra - 64))

    def done(self) -> None:
        self.finish()
        if self.problems:
            raise Invalid(self.title, self.problems)


def _fresh(default: Any) -> Any:
    """A default, copied when mutable (each record gets its own list or dict)."""
    return copy.deepcopy(default) if isinstance(default, (list, dict)) else default


class Record:
    """The pydantic-named methods over a dataclass (see the module's docstring)."""
    forbid_extra = False          # unknown names: ignored (True: each is a problem)

    @classmethod
    def check(cls: Type[R], fields: Fields) -> Dict[str, Any]:
        """The constructor's keyword arguments, read from ``fields`` (every field, checked)."""
        raise NotImplementedError

    @classmethod
    def after_check(cls: Type[R], record: R) -> None:
        """Rules across fields: raise ValueError (its text is the problem). None by default."""

    @classmethod
    def model_validate(cls: Type[R], raw: Any) -> R:
        if isinstance(raw, cls):
            return raw
        fields = Fields(cls.__name__, raw, cls.forbid_extra)
        values = cls.check(fields)
        fields.done()
        record = cls(**values)
        try:
            cls.after_check(record)
        except ValueError as error:
            raise Invalid(cls.__name__, [{"loc": (), "type": "value_error", "msg": "Value error, %s" % error,
                                          "input": None}])
        return record

    @classmethod
    def model_validate_json(cls: Type[R], text: Any) -> R:
        if isinstance(text, (bytes, bytearray)):
            text = text.decode("utf-8")
        if not isinstance(text, str) or len(text) > MAX_JSON_TEXT:
            raise Invalid(cls.__name__, [{"loc": (), "type": "json_invalid", "msg": "Invalid JSON: not text or "
                                          "over %d characters" % MAX_JSON_TEXT, "input": None}])
        try:
            raw = json.loads(text)
        except ValueError as error:
            raise Invalid(cls.__name__, [{"loc": (), "type": "json_invalid", "msg": "Invalid JSON: %s" % error,
                                          "input": None}])
        return cls.model_validate(raw)

    @classmethod
    def field_names(cls) -> List[str]:
        return [f.name for f in dataclasses.fields(cls) if f.init]

    def model_dump(self, exclude: Optional[Iterable[str]] = None) -> Dict[str, Any]:
        excluded = set(exclude or ())
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)
                if f.init and f.name not in excluded}

    def model_dump_json(self, exclude: Optional[Iterable[str]] = None, indent: Optional[int] = None) -> str:
        separators = None if indent else (",", ":")
        return json.dumps(self.model_dump(exclude), ensure_ascii=False, separators=separators, indent=indent)

    def model_copy(self: R, update: Optional[Mapping[str, Any]] = None, deep: bool = False) -> R:
        source = copy.deepcopy(self) if deep else self
        return dataclasses.replace(source, **dict(update or {}))


def _plain(value: Any) -> Any:
    """JSON-ready: records as dicts, containers copied (a dump never shares the record's lists)."""
    if isinstance(value, Record):
        return value.model_dump()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
