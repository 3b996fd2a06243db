"""PlainBuffer, Tablestore's row format, read and written from its published definition.

Written from the format page (https://www.alibabacloud.com/help/en/tablestore/developer-reference/plainbuffer,
doc-detail/50600) and the Java SDK it quotes (PlainBufferCodedOutputStream.java, PlainBufferCrc8.java
in aliyun/aliyun-tablestore-java-sdk), NOT from the Python SDK's coder: the emulator must not agree
with the client by construction. The tests decode what the Python SDK sends and let the SDK parse
what this module writes.

    plainbuffer = tag_header row1 [row2] ...            tag_header: 0x75 as a little-endian int32
    row         = [tag_pk cell...] [tag_attr cell...] [tag_delete_marker] [extension] tag_row_checksum crc8
    cell        = tag_cell tag_cell_name int32 name [tag_cell_value int32 type data] [tag_cell_op op]
                  [tag_cell_ts int64] tag_cell_checksum crc8
    data        = string/blob: int32 length + bytes; integer, double: 8 bytes little-endian;
                  boolean: 1 byte; INF_MIN, INF_MAX, AUTO_INCREMENT: nothing

The cell value's int32 counts the type byte and the data. Checksums are CRC-8/ATM (x^8+x^2+x+1,
initial 0): a cell's covers its name, its value (type, then data as written, length included),
its timestamp then its op; a row's covers its cells' checksums, then one byte: 1 if the row has a
delete marker, else 0. Every multi-byte number is little-endian.
"""
import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import List, Optional, Tuple, Union

HEADER = 0x75
TAG_ROW_PK = 0x01
TAG_ROW_DATA = 0x02
TAG_CELL = 0x03
TAG_CELL_NAME = 0x04
TAG_CELL_VALUE = 0x05
TAG_CELL_OP = 0x06
TAG_CELL_TS = 0x07
TAG_DELETE_MARKER = 0x08
TAG_ROW_CHECKSUM = 0x09
TAG_CELL_CHECKSUM = 0x0A
TAG_EXTENSION = 0x0B    # Java SDK PlainBufferConsts: a length-prefixed block the row checksum skips

# Cell operations (an UpdateRow's cells; absent: put)
DELETE_ALL_VERSIONS = 0x01
DELETE_ONE_VERSION = 0x03
INCREMENT = 0x04
CELL_OPS = (DELETE_ALL_VERSIONS, DELETE_ONE_VERSION, INCREMENT)


class VT(IntEnum):
    """value_type of a formatted value."""
    INTEGER = 0x0
    DOUBLE = 0x1
    BOOLEAN = 0x2
    STRING = 0x3
    NULL = 0x6
    BLOB = 0x7
    INF_MIN = 0x9
    INF_MAX = 0xA
    AUTO_INCREMENT = 0xB


NO_DATA = (VT.NULL, VT.INF_MIN, VT.INF_MAX, VT.AUTO_INCREMENT)


@dataclass(frozen=True)
class Value:
    """A typed value: ``data`` is int (INTEGER), float (DOUBLE), bool (BOOLEAN), str (STRING),
    bytes (BLOB) or None (the markers). The type is explicit: Tablestore never mixes them."""
    type: VT
    data: Union[int, float, bool, str, bytes, None] = None

    @staticmethod
    def integer(number: int) -> "Value":
        return Value(VT.INTEGER, int(number))

    @staticmethod
    def string(text: str) -> "Value":
        return Value(VT.STRING, text)


@dataclass
class Cell:
    name: str
    value: Optional[Value] = None
    op: Optional[int] = None
    timestamp: Optional[int] = None


@dataclass
class PlainRow:
    primary_key: List[Cell] = field(default_factory=list)
    attributes: List[Cell] = field(default_factory=list)
    delete_marker: bool = False


class PlainBufferError(ValueError):
    """Bytes that are not PlainBuffer (the service answers OTSParameterInvalid)."""


def _crc8_table() -> Tuple[int, ...]:
    table = []
    for index in range(256):
        crc = index
        for _ in range(8):
            crc = ((crc << 1) ^ (0x07 if crc & 0x80 else 0)) & 0xFF
        table.append(crc)
    return tuple(table)


CRC8_TABLE = _crc8_table()


def crc8(crc: int, data: bytes) -> int:
    for byte in data:
        crc = CRC8_TABLE[(crc ^ byte) & 0xFF]
    return crc


# ---- values -------------------------------------------------------------------------------------
def value_payload(value: Value) -> bytes:
    """Type byte and data, without the int32 length prefix (also a condition's serialized value)."""
    kind = value.type
    if kind in NO_DATA:
        return bytes([kind])
    if kind == VT.INTEGER:
        if isinstance(value.data, bool) or not isinstance(value.data, int) or not -2 ** 63 <= value.data < 2 ** 63:
            raise PlainBufferError("an INTEGER must be a signed 64-bit integer, not %r" % (value.data,))
        return bytes([kind]) + struct.pack("<q", value.data)
    if kind == VT.DOUBLE:
        return bytes([kind]) + struct.pack("<d", float(value.data))
    if kind == VT.BOOLEAN:
        return bytes([kind, 1 if value.data else 0])
    raw = value.data.encode("utf-8") if kind == VT.STRING else bytes(value.data)
    return bytes([kind]) + struct.pack("<i", len(raw)) + raw


def read_value_payload(data: bytes) -> Value:
    """The inverse of ``value_payload`` over exactly ``data``."""
    reader = _Reader(data)
    value = reader.value_payload(len(data))
    reader.expect_end("a serialized value")
    return value


# ---- reading ------------------------------------------------------------------------------------
class _Reader:
    def __init__(self, data: bytes):
        self.data = bytes(data)
        self.pos = 0

    def more(self) -> bool:
        return self.pos < len(self.data)

    def peek(self) -> Optional[int]:
        return self.data[self.pos] if self.more() else None

    def take(self, count: int) -> bytes:
        if count < 0 or self.pos + count > len(self.data):
            raise PlainBufferError("truncated: %d bytes wanted at offset %d of %d" % (count, self.pos, len(self.data)))
        chunk = self.data[self.pos:self.pos + count]
        self.pos += count
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def int32(self) -> int:
        return struct.unpack("<i", self.take(4))[0]

    def int64(self) -> int:
        return struct.unpack("<q", self.take(8))[0]

    def tag(self, expected: int, what: str) -> None:
        found = self.byte()
        if found != expected:
            raise PlainBufferError("expected %s (tag 0x%02x) at offset %d, found 0x%02x"
                                   % (what, expected, self.pos - 1, found))

    def expect_end(self, what: str) -> None:
        if self.more():
            raise PlainBufferError("%d trailing bytes after %s" % (len(self.data) - self.pos, what))

    def value_payload(self, length: int) -> Value:
        if length < 1:
            raise PlainBufferError("a value of %d bytes has no type" % length)
        start = self.pos
        try:
            kind = VT(self.byte())
        except ValueError:
            raise PlainBufferError("unknown value type 0x%02x" % self.data[start])
        if kind in NO_DATA:
            value = Value(kind)
        elif kind in (VT.INTEGER, VT.DOUBLE):
            raw = self.take(8)
            value = Value(kind, struct.unpack("<q" if kind == VT.INTEGER else "<d", raw)[0])
        elif kind == VT.BOOLEAN:
            flag = self.byte()
            if flag not in (0, 1):
                raise PlainBufferError("a boolean byte is 0 or 1, not %d" % flag)
            value = Value(kind, bool(flag))
        else:
            raw = self.take(self.int32())
            if kind == VT.STRING:
                try:
                    value = Value(kind, raw.decode("utf-8"))
                except UnicodeDecodeError:
                    raise PlainBufferError("a STRING value is not UTF-8")
            else:
                value = Value(kind, raw)
        if self.pos - start != length:
            raise PlainBufferError("a %s value declared %d bytes but holds %d" % (kind.name, length, self.pos - start))
        return value

    def cell(self) -> Tuple[Cell, int]:
        """One cell and its checksum (verified against the one it carries)."""
        self.tag(TAG_CELL, "a cell")
        checksum = 0
        self.tag(TAG_CELL_NAME, "the cell's name")
        name_raw = self.take(self.int32())
        checksum = crc8(checksum, name_raw)
        try:
            cell = Cell(name_raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise PlainBufferError("a cell name is not UTF-8")
        if self.peek() == TAG_CELL_VALUE:
            self.pos += 1
            length = self.int32()
            payload_start = self.pos
            cell.value = self.value_payload(length)
            checksum = crc8(checksum, self.data[payload_start:self.pos])
        if self.peek() == TAG_CELL_OP:
            self.pos += 1
            cell.op = self.byte()
            if cell.op not in CELL_OPS:
                raise PlainBufferError("unknown cell operation 0x%02x" % cell.op)
        if self.peek() == TAG_CELL_TS:
            self.pos += 1
            cell.timestamp = self.int64()
            checksum = crc8(checksum, struct.pack("<q", cell.timestamp))
        if cell.op is not None:   # the op is covered after the timestamp (Java PlainBufferCrc8.getChecksum)
            checksum = crc8(checksum, bytes([cell.op]))
        self.tag(TAG_CELL_CHECKSUM, "the cell's checksum")
        if self.byte() != checksum:
            raise PlainBufferError("checksum mismatch in cell %r" % cell.name)
        return cell, checksum

    def cells(self, checksum: int) -> Tuple[List[Cell], int]:
        """The cells up to the next non-cell tag, and the row checksum carried over them."""
        cells = []
        while self.peek() == TAG_CELL:
            cell, cell_checksum = self.cell()
            cells.append(cell)
            checksum = crc8(checksum, bytes([cell_checksum]))
        return cells, checksum

    def row(self) -> PlainRow:
        row = PlainRow()
        checksum = 0
        if self.peek() == TAG_ROW_PK:
            self.pos += 1
            row.primary_key, checksum = self.cells(checksum)
        if self.peek() == TAG_ROW_DATA:
            self.pos += 1
            row.attributes, checksum = self.cells(checksum)
        if self.peek() == TAG_DELETE_MARKER:
            self.pos += 1
            row.delete_marker = True
        checksum = crc8(checksum, bytes([1 if row.delete_marker else 0]))
        if self.peek() == TAG_EXTENSION:
            self.pos += 1
            self.take(self.int32())
        self.tag(TAG_ROW_CHECKSUM, "the row's checksum")
        if self.byte() != checksum:
            raise PlainBufferError("row checksum mismatch")
        return row


def decode_rows(data: bytes) -> List[PlainRow]:
    """Every row of a PlainBuffer message (one header, then rows to the end)."""
    reader = _Reader(data)
    if reader.int32() != HEADER:
        raise PlainBufferError("no PlainBuffer header (0x75)")
    rows = []
    while reader.more():
        rows.append(reader.row())
    return rows


def decode_row(data: bytes) -> PlainRow:
    """Exactly one row."""
    rows = decode_rows(data)
    if len(rows) != 1:
        raise PlainBufferError("expected one row, found %d" % len(rows))
    return rows[0]


# ---- writing ------------------------------------------------------------------------------------
def _cell_checksum(cell: Cell) -> int:
    checksum = crc8(0, cell.name.encode("utf-8"))
    if cell.value is not None:
        checksum = crc8(checksum, value_payload(cell.value))
    if cell.timestamp is not None:
        checksum = crc8(checksum, struct.pack("<q", cell.timestamp))
    if cell.op is not None:
        checksum = crc8(checksum, bytes([cell.op]))
    return checksum


def _encode_cell(cell: Cell) -> bytes:
    name = cell.name.encode("utf-8")
    out = bytearray([TAG_CELL, TAG_CELL_NAME]) + struct.pack("<i", len(name)) + name
    if cell.value is not None:
        payload = value_payload(cell.value)
        out += bytes([TAG_CELL_VALUE]) + struct.pack("<i", len(payload)) + payload
    if cell.op is not None:
        out += bytes([TAG_CELL_OP, cell.op])
    if cell.timestamp is not None:
        out += bytes([TAG_CELL_TS]) + struct.pack("<q", cell.timestamp)
    out += bytes([TAG_CELL_CHECKSUM, _cell_checksum(cell)])
    return bytes(out)


def _encode_row(row: PlainRow) -> bytes:
    out = bytearray([TAG_ROW_PK])
    for cell in row.primary_key:
        out += _encode_cell(cell)
    if row.attributes:
        out.append(TAG_ROW_DATA)
        for cell in row.attributes:
            out += _encode_cell(cell)
    checksum = 0
    for cell in row.primary_key + row.attributes:
        checksum = crc8(checksum, bytes([_cell_checksum(cell)]))
    if row.delete_marker:
        out.append(TAG_DELETE_MARKER)
    checksum = crc8(checksum, bytes([1 if row.delete_marker else 0]))
    out += bytes([TAG_ROW_CHECKSUM, checksum])
    return bytes(out)


def encode_rows(rows: List[PlainRow]) -> bytes:
    """One header, then every row (an empty list: empty bytes, the service's "no row")."""
    if not rows:
        return b""
    return struct.pack("<i", HEADER) + b"".join(_encode_row(row) for row in rows)
