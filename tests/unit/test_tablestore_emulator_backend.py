"""The Tablestore emulator's typed backend: conditions as "Conditional updates" defines them,
versions, ranges, the limits it enforces (the wire tests cover the same through the SDK)."""
import pytest

from image_repair.emulator.tablestore.backend import ReadOptions, TableOptions, TablestoreBackend
from image_repair.emulator.tablestore.conditions import (AND, EQUAL, EXPECT_EXIST, EXPECT_NOT_EXIST, GREATER_THAN,
                                                         LESS_THAN, NOT, OR, Composite, Condition, SingleColumn)
from image_repair.emulator.tablestore.errors import OTSError
from image_repair.emulator.tablestore.plainbuffer import (DELETE_ALL_VERSIONS, DELETE_ONE_VERSION, INCREMENT, VT,
                                                          Cell, Value)

I = "image-repair"


class Clock:
    def __init__(self):
        self.now = 1_700_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def backend(clock):
    backend = TablestoreBackend([I], clock=clock, page_rows=3)
    backend.create_table(I, "t", [("pk", "STRING")], TableOptions(max_versions=3))
    return backend


def key(value="a"):
    return [Cell("pk", Value.string(value))]


def cells(**values):
    return [Cell(name, value if isinstance(value, Value) else Value.integer(value) if isinstance(value, int)
                 else Value.string(value)) for name, value in values.items()]


def read(backend, value="a", versions=1):
    row = backend.get_row(I, "t", key(value), ReadOptions(max_versions=versions))
    return None if row is None else [(name, v.data) for name, v, _ in row.columns]


def code(call, *args, **kwargs):
    with pytest.raises(OTSError) as raised:
        call(*args, **kwargs)
    return raised.value.code


def test_put_replaces_the_whole_row(backend):
    backend.put_row(I, "t", key(), cells(a=1, b="x"), Condition())
    backend.put_row(I, "t", key(), cells(c=2), Condition())
    assert read(backend) == [("c", 2)]


def test_row_existence_is_checked_before_the_column_condition(backend):
    assert code(backend.update_row, I, "t", key(), cells(v=1), Condition(EXPECT_EXIST)) == "OTSConditionCheckFail"
    backend.put_row(I, "t", key(), cells(v=1), Condition(EXPECT_NOT_EXIST))
    assert code(backend.put_row, I, "t", key(), cells(v=2), Condition(EXPECT_NOT_EXIST)) == "OTSConditionCheckFail"
    passing_column = SingleColumn("v", EQUAL, Value.integer(1))
    assert code(backend.put_row, I, "t", key(), cells(v=2), Condition(EXPECT_NOT_EXIST, passing_column)) \
        == "OTSConditionCheckFail"
    assert read(backend) == [("v", 1)]


def test_pass_if_missing_decides_for_a_missing_column_and_a_missing_row(backend):
    backend.put_row(I, "t", key(), cells(v=1), Condition())
    lenient = SingleColumn("absent", EQUAL, Value.integer(1), pass_if_missing=True)
    strict = SingleColumn("absent", EQUAL, Value.integer(1), pass_if_missing=False)
    backend.update_row(I, "t", key(), cells(w=1), Condition(EXPECT_EXIST, lenient))
    assert code(backend.update_row, I, "t", key(), cells(w=2), Condition(EXPECT_EXIST, strict)) \
        == "OTSConditionCheckFail"
    # A row that does not exist has no columns (the emulator's reading; the adapter avoids the case).
    backend.put_row(I, "t", key("new"), cells(v=1), Condition(column=lenient))
    assert code(backend.put_row, I, "t", key("other"), cells(v=1), Condition(column=strict)) == "OTSConditionCheckFail"


def test_latest_version_only_or_any_version(backend, clock):
    backend.put_row(I, "t", key(), [Cell("v", Value.integer(1), timestamp=1_699_999_999_000)], Condition())
    backend.update_row(I, "t", key(), cells(v=5), Condition())
    assert read(backend, versions=3) == [("v", 5), ("v", 1)]
    older = SingleColumn("v", EQUAL, Value.integer(1), latest_version_only=True)
    assert code(backend.update_row, I, "t", key(), cells(w=1), Condition(EXPECT_EXIST, older)) \
        == "OTSConditionCheckFail"
    backend.update_row(I, "t", key(), cells(w=1), Condition(EXPECT_EXIST, SingleColumn(
        "v", EQUAL, Value.integer(1), latest_version_only=False)))


def test_composites_and_their_limits(backend):
    backend.put_row(I, "t", key(), cells(n=5, s="x"), Condition())
    big = SingleColumn("n", GREATER_THAN, Value.integer(3))
    small = SingleColumn("n", LESS_THAN, Value.integer(3))
    named = SingleColumn("s", EQUAL, Value.string("x"))
    backend.update_row(I, "t", key(), cells(w=1), Condition(EXPECT_EXIST, Composite(AND, (big, named))))
    backend.update_row(I, "t", key(), cells(w=2), Condition(EXPECT_EXIST, Composite(OR, (small, named))))
    backend.update_row(I, "t", key(), cells(w=3), Condition(EXPECT_EXIST, Composite(NOT, (small,))))
    assert code(backend.update_row, I, "t", key(), cells(w=4), Condition(EXPECT_EXIST, Composite(AND, (big, small)))) \
        == "OTSConditionCheckFail"
    for malformed in (Composite(NOT, (big, small)), Composite(OR, (big,)), Composite(AND, ()),
                      Composite(OR, tuple([big] * 10)), SingleColumn("n", 99, Value.integer(1))):
        assert code(backend.update_row, I, "t", key(), cells(w=5), Condition(EXPECT_EXIST, malformed)) \
            == "OTSParameterInvalid"
    nine = Composite(OR, tuple([big] * 9))                   # ten conditions with its composite: the limit
    backend.update_row(I, "t", key(), cells(w=5), Condition(EXPECT_EXIST, nine))
    assert code(backend.update_row, I, "t", key(), cells(w=6), Condition(
        EXPECT_EXIST, SingleColumn("n", EQUAL, Value.string("5")))) == "OTSConditionCheckFail"   # types never mix


def test_update_operations_and_versions(backend, clock):
    backend.update_row(I, "t", key(), cells(c=1, d="x"), Condition())
    clock.now += 1
    backend.update_row(I, "t", key(), [Cell("c", Value.integer(2), op=INCREMENT), Cell("d", op=DELETE_ALL_VERSIONS)],
                       Condition(EXPECT_EXIST))
    assert read(backend, versions=3) == [("c", 3), ("c", 1)]
    first = backend.get_row(I, "t", key(), ReadOptions(max_versions=3)).columns[1][2]
    backend.update_row(I, "t", key(), [Cell("c", op=DELETE_ONE_VERSION, timestamp=first)], Condition())
    assert read(backend, versions=3) == [("c", 3)]
    backend.update_row(I, "t", key(), cells(s="text"), Condition())
    assert code(backend.update_row, I, "t", key(), [Cell("s", Value.integer(1), op=INCREMENT)], Condition()) \
        == "OTSParameterInvalid"
    for _ in range(4):
        clock.now += 1
        backend.update_row(I, "t", key(), cells(c=7), Condition())
    assert len([c for c in backend.get_row(I, "t", key(), ReadOptions(max_versions=10)).columns
                if c[0] == "c"]) == 3                                # the table keeps max_versions
    backend.update_row(I, "t", key(), [Cell("c", op=DELETE_ALL_VERSIONS), Cell("s", op=DELETE_ALL_VERSIONS)],
                       Condition())
    assert read(backend) is None                                    # nothing left: no row


def test_ranges_forward_backward_limits_and_pages(backend):
    for name in "abcdefg":
        backend.put_row(I, "t", key(name), cells(v=ord(name)), Condition())
    low, high = [Cell("pk", Value(VT.INF_MIN))], [Cell("pk", Value(VT.INF_MAX))]
    rows, next_start = backend.get_range(I, "t", True, low, high, ReadOptions(max_versions=1))
    assert [r.primary_key[0][1].data for r in rows] == ["a", "b", "c"] and next_start[0][1].data == "d"
    rows, next_start = backend.get_range(I, "t", False, key("f"), key("b"), ReadOptions(max_versions=1), limit=2)
    assert [r.primary_key[0][1].data for r in rows] == ["f", "e"] and next_start[0][1].data == "d"
    rows, next_start = backend.get_range(I, "t", True, key("e"), high, ReadOptions(max_versions=1))
    assert [r.primary_key[0][1].data for r in rows] == ["e", "f", "g"] and next_start is None
    assert code(backend.get_range, I, "t", True, key("c"), key("b"), ReadOptions(max_versions=1)) == "OTSParameterInvalid"
    only_big = SingleColumn("v", GREATER_THAN, Value.integer(ord("e")))
    rows, _ = backend.get_range(I, "t", True, key("e"), high, ReadOptions(max_versions=1, filter=only_big))
    assert [r.primary_key[0][1].data for r in rows] == ["f", "g"]


def test_integer_and_binary_keys_sort_as_the_service_sorts_them(backend):
    backend.create_table(I, "n", [("id", "INTEGER"), ("b", "BINARY")], TableOptions())
    for number, raw in ((10, b"\x01"), (-5, b"\x00"), (2, b"\xff"), (2, b"\x10")):
        backend.put_row(I, "n", [Cell("id", Value.integer(number)), Cell("b", Value(VT.BLOB, raw))],
                        cells(v=1), Condition())
    rows, _ = backend.get_range(I, "n", True, [Cell("id", Value(VT.INF_MIN)), Cell("b", Value(VT.INF_MIN))],
                                [Cell("id", Value(VT.INF_MAX)), Cell("b", Value(VT.INF_MAX))],
                                ReadOptions(max_versions=1))
    assert [(r.primary_key[0][1].data, r.primary_key[1][1].data) for r in rows][:3] == [
        (-5, b"\x00"), (2, b"\x10"), (2, b"\xff")]


def test_the_limits_it_enforces(backend):
    assert code(backend.get_row, I, "t", [Cell("pk", Value.integer(1))], ReadOptions(max_versions=1)) \
        == "OTSParameterInvalid"
    assert code(backend.get_row, I, "t", key(), ReadOptions()) == "OTSParameterInvalid"   # neither versions nor range
    assert code(backend.get_row, I, "missing", key(), ReadOptions(max_versions=1)) == "OTSObjectNotExist"
    assert code(backend.put_row, I, "t", key("x" * 1025), cells(v=1), Condition()) == "OTSParameterInvalid"
    assert code(backend.put_row, I, "t", key(), cells(pk=1), Condition()) == "OTSParameterInvalid"
    assert code(backend.put_row, I, "t", key(), cells(v=1) + cells(v=2), Condition()) == "OTSParameterInvalid"
    assert code(backend.put_row, I, "t", key(), [Cell("v", Value.integer(1), timestamp=1)], Condition()) \
        == "OTSParameterInvalid"                      # further than max_time_deviation from the server's clock
    assert code(backend.create_table, I, "t", [("pk", "STRING")], TableOptions()) == "OTSObjectAlreadyExist"
    for name, schema, options in (("1bad", [("pk", "STRING")], TableOptions()),
                                  ("u", [("pk", "DOUBLE")], TableOptions()),
                                  ("u", [("a", "STRING")] * 2, TableOptions()),
                                  ("u", [(c, "STRING") for c in "abcde"], TableOptions()),
                                  ("u", [("pk", "STRING")], TableOptions(max_versions=0)),
                                  ("u", [("pk", "STRING")], TableOptions(time_to_live=60))):
        assert code(backend.create_table, I, name, schema, options) == "OTSParameterInvalid"
