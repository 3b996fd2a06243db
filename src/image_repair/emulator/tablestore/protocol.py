"""Tablestore's protobuf messages to typed backend calls and back, one function per operation.

The messages are parsed and built with the classes the SDK ships (tablestore/protobuf/
table_store_pb2.py and table_store_filter_pb2.py, generated from table_store.proto and
table_store_filter.proto, the schema the service publishes): the schema is the contract, and
generated classes read it exactly. Rows inside them (``row``, ``primary_key``, ``rows``...) are
PlainBuffer, read and written by this package's own plainbuffer.py.
"""
from typing import Callable, Dict, List, Optional, Sequence

from google.protobuf.message import DecodeError, Message
from tablestore.protobuf import table_store_filter_pb2 as filter_pb
from tablestore.protobuf import table_store_pb2 as pb

from . import conditions
from .backend import ReadOptions, RowView, TableOptions, TablestoreBackend
from .errors import invalid
from .plainbuffer import Cell, PlainBufferError, PlainRow, decode_row, encode_rows, read_value_payload

PK_TYPE_NAMES = {pb.INTEGER: "INTEGER", pb.STRING: "STRING", pb.BINARY: "BINARY"}
PK_TYPE_CODES = {name: code for code, name in PK_TYPE_NAMES.items()}
RETURN_PK = pb.RT_PK


def parse(message: Message, body: bytes) -> Message:
    try:
        message.ParseFromString(body)
    except DecodeError as error:
        raise invalid("Invalid protobuf message %s: %s." % (type(message).__name__, error))
    if not message.IsInitialized():
        raise invalid("Missing required fields in %s: %s." % (type(message).__name__,
                                                               ", ".join(message.FindInitializationErrors())))
    return message


def plain_row(data: bytes, what: str) -> PlainRow:
    try:
        return decode_row(data)
    except PlainBufferError as error:
        raise invalid("Invalid PlainBuffer in %s: %s." % (what, error))


def column_condition(data: bytes) -> Optional[conditions.ColumnCondition]:
    """A serialized ``Filter`` (empty: none)."""
    if not data:
        return None
    return _filter(parse(filter_pb.Filter(), data))


def _filter(message) -> conditions.ColumnCondition:
    if message.type == filter_pb.FT_SINGLE_COLUMN_VALUE:
        single = parse(filter_pb.SingleColumnValueFilter(), message.filter)
        if single.HasField("value_trans_rule"):
            raise invalid("Regular-expression conditions are not emulated.")
        try:
            value = read_value_payload(single.column_value) if single.column_value else None
        except PlainBufferError as error:
            raise invalid("Invalid column value in a condition: %s." % error)
        return conditions.SingleColumn(single.column_name, single.comparator, value,
                                       pass_if_missing=not single.filter_if_missing,
                                       latest_version_only=single.latest_version_only)
    if message.type == filter_pb.FT_COMPOSITE_COLUMN_VALUE:
        composite = parse(filter_pb.CompositeColumnValueFilter(), message.filter)
        return conditions.Composite(composite.combinator, tuple(_filter(sub) for sub in composite.sub_filters))
    raise invalid("Unsupported filter type: %d." % message.type)


def condition(message) -> conditions.Condition:
    if message.row_existence not in (conditions.IGNORE, conditions.EXPECT_EXIST, conditions.EXPECT_NOT_EXIST):
        raise invalid("Invalid row existence expectation: %d." % message.row_existence)
    return conditions.Condition(message.row_existence, column_condition(message.column_condition))


def read_options(message) -> ReadOptions:
    time_range = None
    if message.HasField("time_range"):
        span = message.time_range
        if span.HasField("specific_time"):
            time_range = (span.specific_time, span.specific_time + 1)
        else:
            time_range = (span.start_time, span.end_time)
    if message.HasField("start_column") or message.HasField("end_column") or message.HasField("token"):
        raise invalid("Column ranges and row tokens are not emulated.")
    return ReadOptions(tuple(message.columns_to_get), message.max_versions if message.HasField("max_versions") else None,
                       time_range, column_condition(message.filter))


def rows_bytes(rows: Sequence[RowView]) -> bytes:
    return encode_rows([PlainRow([Cell(name, value) for name, value in row.primary_key],
                                 [Cell(name, value, timestamp=ts) for name, value, ts in row.columns])
                        for row in rows])


def consumed(message, read: int, write: int) -> None:
    message.consumed.capacity_unit.read = read
    message.consumed.capacity_unit.write = write


def _no_transaction(message) -> None:
    if message.HasField("transaction_id"):
        raise invalid("Local transactions are not emulated.")


def _returned_pk(request, response, primary_key: List[Cell]) -> None:
    if request.HasField("return_content") and request.return_content.return_type == RETURN_PK:
        response.row = encode_rows([PlainRow(list(primary_key))])


# ---- operations: (backend, instance, request body) -> response body -----------------------------
def create_table(backend: TablestoreBackend, instance: str, body: bytes) -> bytes:
    request = parse(pb.CreateTableRequest(), body)
    if request.partitions or request.index_metas or request.HasField("stream_spec") or request.HasField("sse_spec"):
        raise invalid("Partitions, indexes, streams and encryption are not emulated.")
    meta, given = request.table_meta, request.table_options
    schema = []
    for column in meta.primary_key:
        if column.type not in PK_TYPE_NAMES or column.HasField("option"):
            raise invalid("Unsupported primary key column %s (type %d)." % (column.name, column.type))
        schema.append((column.name, PK_TYPE_NAMES[column.type]))
    options = TableOptions()
    if request.HasField("table_options"):
        options = TableOptions(
            time_to_live=given.time_to_live if given.HasField("time_to_live") else -1,
            max_versions=given.max_versions if given.HasField("max_versions") else 1,
            deviation_s=given.deviation_cell_version_in_sec if given.HasField("deviation_cell_version_in_sec")
            else 86400,
            allow_update=given.allow_update if given.HasField("allow_update") else True)
    reserved = request.reserved_throughput.capacity_unit
    backend.create_table(instance, meta.table_name, schema, options, (reserved.read, reserved.write))
    return pb.CreateTableResponse().SerializeToString()


def describe_table(backend: TablestoreBackend, instance: str, body: bytes) -> bytes:
    request = parse(pb.DescribeTableRequest(), body)
    table = backend.describe_table(instance, request.table_name)
    response = pb.DescribeTableResponse()
    response.table_meta.table_name = table.name
    for name, kind in table.primary_key:
        column = response.table_meta.primary_key.add()
        column.name, column.type = name, PK_TYPE_CODES[kind]
    details = response.reserved_throughput_details
    details.capacity_unit.read, details.capacity_unit.write = table.reserved_read, table.reserved_write
    details.last_increase_time = table.created_at_ms // 1000
    options = response.table_options
    options.time_to_live, options.max_versions = table.options.time_to_live, table.options.max_versions
    options.deviation_cell_version_in_sec = table.options.deviation_s
    options.allow_update = table.options.allow_update
    return response.SerializeToString()


def list_table(backend: TablestoreBackend, instance: str, body: bytes) -> bytes:
    parse(pb.ListTableRequest(), body)
    response = pb.ListTableResponse()
    response.table_names.extend(backend.list_tables(instance))
    return response.SerializeToString()


def delete_table(backend: TablestoreBackend, instance: str, body: bytes) -> bytes:
    request = parse(pb.DeleteTableRequest(), body)
    backend.delete_table(instance, request.table_name)
    return pb.DeleteTableResponse().SerializeToString()


def get_row(backend: TablestoreBackend, instance: str, body: bytes) -> bytes:
    request = parse(pb.GetRowRequest(), body)
    _no_transaction(request)
    key = plain_row(request.primary_key, "primary_key").primary_key
    row = backend.get_row(instance, request.table_name, key, read_options(request))
    response = pb.GetRowResponse()
    consumed(response, 1, 0)
    response.row = rows_bytes([row] if row is not None else [])   # required: empty bytes when no row
    return response.SerializeToString()


def put_row(backend: TablestoreBackend, instance: str, body: bytes) -> bytes:
    request = parse(pb.PutRowRequest(), body)
    _no_transaction(request)
    row = plain_row(request.row, "row")
    backend.put_row(instance, request.table_name, row.primary_key, row.attributes, condition(request.condition))
    return _write_answer(pb.PutRowResponse(), request, row.primary_key)


def update_row(backend: TablestoreBackend, instance: str, body: bytes) -> bytes:
    request = parse(pb.UpdateRowRequest(), body)
    _no_transaction(request)
    row = plain_row(request.row_change, "row_change")
    backend.update_row(instance, request.table_name, row.primary_key, row.attributes, condition(request.condition))
    return _write_answer(pb.UpdateRowResponse(), request, row.primary_key)


def delete_row(backend: TablestoreBackend, instance: str, body: bytes) -> bytes:
    request = parse(pb.DeleteRowRequest(), body)
    _no_transaction(request)
    row = plain_row(request.primary_key, "primary_key")
    if not row.delete_marker:
        raise invalid("The row of a DeleteRow must carry the delete marker.")
    backend.delete_row(instance, request.table_name, row.primary_key, condition(request.condition))
    return _write_answer(pb.DeleteRowResponse(), request, row.primary_key)


def get_range(backend: TablestoreBackend, instance: str, body: bytes) -> bytes:
    request = parse(pb.GetRangeRequest(), body)
    _no_transaction(request)
    start = plain_row(request.inclusive_start_primary_key, "inclusive_start_primary_key").primary_key
    end = plain_row(request.exclusive_end_primary_key, "exclusive_end_primary_key").primary_key
    rows, next_start = backend.get_range(instance, request.table_name, request.direction == pb.FORWARD, start, end,
                                         read_options(request), request.limit if request.HasField("limit") else None)
    response = pb.GetRangeResponse()
    consumed(response, max(1, len(rows)), 0)
    response.rows = rows_bytes(rows)
    if next_start is not None:
        response.next_start_primary_key = encode_rows([PlainRow([Cell(name, value) for name, value in next_start])])
    return response.SerializeToString()


def _write_answer(response, request, primary_key) -> bytes:
    """A single-row write's answer: the capacity it consumed (one write; one read more when it is
    conditional) and the primary key when the request asked for it back."""
    consumed(response, _condition_read(request.condition), 1)
    _returned_pk(request, response, primary_key)
    return response.SerializeToString()


def _condition_read(message) -> int:
    """A conditional write reads the row first: one read capacity unit (the billing note of
    "Conditional updates"); an unconditional one reads nothing."""
    return int(message.row_existence != conditions.IGNORE or bool(message.column_condition))


OPERATIONS: Dict[str, Callable[[TablestoreBackend, str, bytes], bytes]] = {
    "CreateTable": create_table, "DescribeTable": describe_table, "ListTable": list_table,
    "DeleteTable": delete_table, "GetRow": get_row, "PutRow": put_row, "UpdateRow": update_row,
    "DeleteRow": delete_row, "GetRange": get_range,
}