"""The emulator's PlainBuffer codec, written from the published format, against the SDK's own
coder: what the SDK writes, the emulator reads; what the emulator writes, the SDK reads; byte for
byte where both write the same row. Two independent readings of one format agreeing is the test."""
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tablestore import INF_MAX, INF_MIN
from tablestore.plainbuffer.plain_buffer_builder import PlainBufferBuilder
from tablestore.plainbuffer.plain_buffer_coded_stream import PlainBufferCodedInputStream
from tablestore.plainbuffer.plain_buffer_stream import PlainBufferInputStream

from image_repair.emulator.tablestore.plainbuffer import (DELETE_ALL_VERSIONS, INCREMENT, VT, Cell, PlainBufferError,
                                                          PlainRow, Value, crc8, decode_row, decode_rows, encode_rows,
                                                          read_value_payload, value_payload)


def sdk_rows(data: bytes):
    return [(row.primary_key, row.attribute_columns)
            for row in PlainBufferCodedInputStream(PlainBufferInputStream(bytes(data))).read_rows()]


def test_crc8_is_crc_8_atm():
    # The CRC catalogue's check value of CRC-8 (poly 0x07, init 0, no reflection): "123456789" -> 0xF4.
    assert crc8(0, b"123456789") == 0xF4


def test_the_emulator_reads_what_the_sdk_writes_for_a_put():
    data = bytes(PlainBufferBuilder.serialize_for_put_row(
        [("pk", "exec#1")], [("n", 5), ("s", "héllo"), ("f", 1.5), ("b", True), ("x", bytearray(b"\x00\x01")),
                             ("t", 7, 1234)]))
    row = decode_row(data)
    assert [(c.name, c.value) for c in row.primary_key] == [("pk", Value(VT.STRING, "exec#1"))]
    assert [(c.name, c.value, c.timestamp) for c in row.attributes] == [
        ("n", Value(VT.INTEGER, 5), None), ("s", Value(VT.STRING, "héllo"), None), ("f", Value(VT.DOUBLE, 1.5), None),
        ("b", Value(VT.BOOLEAN, True), None), ("x", Value(VT.BLOB, b"\x00\x01"), None),
        ("t", Value(VT.INTEGER, 7), 1234)]
    assert not row.delete_marker


def test_the_emulator_reads_updates_deletes_and_range_bounds():
    update = decode_row(bytes(PlainBufferBuilder.serialize_for_update_row(
        [("pk", "a")], {"put": [("v", 1)], "delete_all": ["d"], "increment": [("c", 2)]})))
    assert [(c.name, c.op) for c in update.attributes] == [("v", None), ("d", DELETE_ALL_VERSIONS), ("c", INCREMENT)]
    assert decode_row(bytes(PlainBufferBuilder.serialize_for_delete_row([("pk", "a")]))).delete_marker
    low = decode_row(bytes(PlainBufferBuilder.serialize_primary_key([("pk", INF_MIN), ("n", INF_MAX)])))
    assert [c.value.type for c in low.primary_key] == [VT.INF_MIN, VT.INF_MAX]
    assert read_value_payload(bytes(PlainBufferBuilder.serialize_column_value(42))) == Value(VT.INTEGER, 42)
    assert read_value_payload(bytes(PlainBufferBuilder.serialize_column_value("own"))) == Value(VT.STRING, "own")


def test_the_sdk_reads_what_the_emulator_writes():
    data = encode_rows([
        PlainRow([Cell("pk", Value.string("a"))],
                 [Cell("n", Value.integer(3), timestamp=99), Cell("s", Value.string("x"), timestamp=100),
                  Cell("f", Value(VT.DOUBLE, 2.5), timestamp=1), Cell("b", Value(VT.BOOLEAN, False), timestamp=1),
                  Cell("x", Value(VT.BLOB, b"ab"), timestamp=1)]),
        PlainRow([Cell("pk", Value.string("b"))])])
    assert sdk_rows(data) == [([("pk", "a")], [("n", 3, 99), ("s", "x", 100), ("f", 2.5, 1), ("b", False, 1),
                                                ("x", bytearray(b"ab"), 1)]),
                              ([("pk", "b")], [])]
    assert encode_rows([]) == b""


def test_a_primary_key_is_written_byte_for_byte_as_the_sdk_writes_it():
    for key in ([("pk", "lock#0123")], [("gid", 7), ("uid", "x"), ("blob", bytearray(b"\xff"))]):
        ours = encode_rows([PlainRow([Cell(name, _value(value)) for name, value in key])])
        assert ours == bytes(PlainBufferBuilder.serialize_primary_key(key))


@pytest.mark.parametrize("damage, message", [
    (lambda d: d[:-1] + bytes([d[-1] ^ 1]), "row checksum mismatch"),
    (lambda d: d[:-3] + bytes([d[-3] ^ 1]) + d[-2:], "checksum mismatch in cell"),
    (lambda d: b"\x76" + d[1:], "no PlainBuffer header"),
    (lambda d: d[:-5], "truncated"),
    (lambda d: d + b"\x03", "expected the row.s checksum"),
])
def test_damaged_bytes_are_refused(damage, message):
    data = bytes(PlainBufferBuilder.serialize_for_put_row([("pk", "a")], [("v", "x")]))
    decode_row(data)
    with pytest.raises(PlainBufferError, match=message):
        decode_rows(damage(data))


def test_a_value_whose_declared_length_disagrees_is_refused():
    data = bytearray(PlainBufferBuilder.serialize_for_put_row([("pk", "a")], [("v", 5)]))
    at = data.index(bytes([0x05, 9, 0, 0, 0]))          # tag_cell_value, int32 9 (type + 8 bytes)
    data[at + 1] = 10
    with pytest.raises(PlainBufferError):
        decode_row(bytes(data))


def test_an_integer_outside_64_bits_cannot_be_written():
    with pytest.raises(PlainBufferError):
        value_payload(Value(VT.INTEGER, 2 ** 63))
    assert struct.unpack("<q", value_payload(Value(VT.INTEGER, -2 ** 63))[1:]) == (-2 ** 63,)


VALUES = st.one_of(st.integers(-2 ** 63, 2 ** 63 - 1), st.text(max_size=20), st.booleans(),
                   st.floats(allow_nan=False), st.binary(max_size=20).map(bytearray))
NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True)


@settings(max_examples=200, deadline=None, database=None)   # no example database: the tree may be read-only
@given(pk=st.one_of(st.text(min_size=1, max_size=30), st.integers(-2 ** 63, 2 ** 63 - 1)),
       columns=st.dictionaries(NAMES, st.tuples(VALUES, st.integers(0, 2 ** 62)), max_size=6))
def test_both_readings_of_the_format_agree_on_any_row(pk, columns):
    attributes = [(name, value, stamp) for name, (value, stamp) in columns.items()]
    sdk_bytes = bytes(PlainBufferBuilder.serialize_for_put_row([("pk", pk)], attributes))
    row = decode_row(sdk_bytes)
    assert [(c.name, _plain(c.value), c.timestamp) for c in row.attributes] == [
        (name, _plain(_value(value)), stamp) for name, value, stamp in attributes]
    assert sdk_rows(encode_rows([row])) == [([("pk", pk)], attributes)]


def _value(data) -> Value:
    if isinstance(data, bool):
        return Value(VT.BOOLEAN, data)
    if isinstance(data, int):
        return Value(VT.INTEGER, data)
    if isinstance(data, float):
        return Value(VT.DOUBLE, data)
    if isinstance(data, str):
        return Value(VT.STRING, data)
    return Value(VT.BLOB, bytes(data))


def _plain(value: Value):
    return (value.type, value.data)
