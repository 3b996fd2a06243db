"""Row existence expectations and column conditions, as "Conditional updates" defines them
(https://www.alibabacloud.com/help/en/tablestore/latest/conditional-update) and the protobuf
``Condition`` / ``Filter`` messages carry them (table_store.proto, table_store_filter.proto).

* Row existence is checked first: IGNORE (not checked), EXPECT_EXIST (the row must exist),
  EXPECT_NOT_EXIST (it must not); a failure is OTSConditionCheckFail.
* A single-column condition compares one attribute column with a constant (=, !=, >, >=, <, <=).
  ``pass_if_missing`` (on the wire ``filter_if_missing`` = not pass_if_missing) decides when the
  column is absent; ``latest_version_only`` compares the newest version only, else any version
  may satisfy it (the emulator's reading). Values of different types never satisfy a comparison
  (the emulator's reading; the adapter always compares like with like).
* A composite condition combines sub-conditions with NOT (exactly one), AND, OR (two or more);
  at most 10 conditions in all ("You can specify up to 10 column-based conditions for a
  conditional update", https://www.alibabacloud.com/help/doc-detail/84767.html; counting every
  node, composites included, is the emulator's stricter reading).
* A row that does not exist has no columns: a column condition on it is decided by
  ``pass_if_missing`` (the emulator's reading; the adapter never relies on it, see docs/store.md).
"""
import operator
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple, Union

from .errors import condition_failed, invalid
from .plainbuffer import VT, Value

IGNORE, EXPECT_EXIST, EXPECT_NOT_EXIST = 0, 1, 2
EQUAL, NOT_EQUAL, GREATER_THAN, GREATER_EQUAL, LESS_THAN, LESS_EQUAL, EXIST, NOT_EXIST = range(1, 9)
NOT, AND, OR = 1, 2, 3
MAX_CONDITIONS = 10

COMPARE = {EQUAL: operator.eq, NOT_EQUAL: operator.ne, GREATER_THAN: operator.gt, GREATER_EQUAL: operator.ge,
           LESS_THAN: operator.lt, LESS_EQUAL: operator.le}
COMPARABLE = (VT.INTEGER, VT.DOUBLE, VT.BOOLEAN, VT.STRING, VT.BLOB)

# A stored row's attribute columns: name -> [(timestamp ms, value)], newest first.
Columns = Dict[str, List[Tuple[int, Value]]]


@dataclass(frozen=True)
class SingleColumn:
    column: str
    comparator: int
    value: Optional[Value]
    pass_if_missing: bool = True
    latest_version_only: bool = True


@dataclass(frozen=True)
class Composite:
    operator: int
    subs: Tuple["ColumnCondition", ...]


ColumnCondition = Union[SingleColumn, Composite]


@dataclass(frozen=True)
class Condition:
    row_existence: int = IGNORE
    column: Optional[ColumnCondition] = None


def validate(condition: Optional[ColumnCondition]) -> None:
    """Refuse what the service refuses: an unknown operator, a NOT with other than one
    sub-condition, an AND/OR with fewer than two, more than MAX_CONDITIONS conditions."""
    if condition is None:
        return
    if _count(condition) > MAX_CONDITIONS:
        raise invalid("Too many column conditions: at most %d." % MAX_CONDITIONS)
    _validate(condition)


def _count(condition: ColumnCondition) -> int:
    if isinstance(condition, Composite):
        return 1 + sum(_count(sub) for sub in condition.subs)
    return 1


def _validate(condition: ColumnCondition) -> None:
    if isinstance(condition, SingleColumn):
        if condition.comparator not in COMPARE and condition.comparator not in (EXIST, NOT_EXIST):
            raise invalid("Invalid comparator: %d." % condition.comparator)
        if condition.comparator in COMPARE and (condition.value is None or condition.value.type not in COMPARABLE):
            raise invalid("Invalid column value in the condition on %s." % condition.column)
        return
    if condition.operator not in (NOT, AND, OR):
        raise invalid("Invalid logical operator: %d." % condition.operator)
    if condition.operator == NOT and len(condition.subs) != 1:
        raise invalid("The NOT operator takes exactly one sub condition.")
    if condition.operator != NOT and len(condition.subs) < 2:
        raise invalid("The AND and OR operators take at least two sub conditions.")
    for sub in condition.subs:
        _validate(sub)


def passes(condition: Optional[ColumnCondition], columns: Columns) -> bool:
    """Whether a row with these attribute columns satisfies the column condition."""
    if condition is None:
        return True
    if isinstance(condition, Composite):
        results = [passes(sub, columns) for sub in condition.subs]
        if condition.operator == NOT:
            return not results[0]
        return all(results) if condition.operator == AND else any(results)
    versions = columns.get(condition.column)
    if condition.comparator == EXIST:
        return bool(versions)
    if condition.comparator == NOT_EXIST:
        return not versions
    if not versions:
        return condition.pass_if_missing
    candidates = versions[:1] if condition.latest_version_only else versions
    return any(_satisfies(value, condition.comparator, condition.value) for _, value in candidates)


def _satisfies(stored: Value, comparator: int, constant: Value) -> bool:
    if stored.type != constant.type:
        return False
    return COMPARE[comparator](stored.data, constant.data)


def check(condition: Condition, existing: Optional[Columns]) -> None:
    """Raise OTSConditionCheckFail unless ``existing`` (None: no such row) meets ``condition``
    (OTSParameterInvalid first if the condition itself is malformed)."""
    validate(condition.column)
    if condition.row_existence == EXPECT_EXIST and existing is None:
        raise condition_failed()
    if condition.row_existence == EXPECT_NOT_EXIST and existing is not None:
        raise condition_failed()
    if not passes(condition.column, existing or {}):
        raise condition_failed()
