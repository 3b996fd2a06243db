"""The Tablestore endpoint's wire (``wire.handle``), called in-process with requests the SDK
itself builds and signs (tablestore.protocol.OTSProtocol, SignV2) and answers the SDK itself
checks and parses: authentication, the response signature the SDK verifies, error bodies and
statuses, faults. No socket: the SDK's protocol layer is used without its urllib3 transport."""
import datetime
import logging

import pytest
from tablestore import (CapacityUnit, Condition, OTSClientError, OTSServiceError, ReservedThroughput, Row,
                        RowExistenceExpectation, TableMeta, TableOptions)
from tablestore.auth import RequestContext, SignV2, SignV4
from tablestore.credentials import Credentials
from tablestore.protocol import OTSProtocol

from image_repair.emulator.tablestore import TablestoreBackend
from image_repair.emulator.tablestore.signing import canonical_headers, request_signature
from image_repair.emulator.tablestore.wire import handle

INSTANCE = "image-repair"


@pytest.fixture
def backend():
    backend = TablestoreBackend([INSTANCE])
    key_id, secret = next(iter(backend.accounts.items()))
    backend.key = (key_id, secret)
    return backend


class Sdk:
    """The SDK's request/response layer for one caller (its own keys, instance, signer)."""

    def __init__(self, key_id, secret, instance=INSTANCE, token=None, signer=None):
        self.protocol = OTSProtocol(instance, "utf8", logging.getLogger("test-sdk"))
        self.signer = signer or SignV2("utf8")
        self.context = RequestContext(Credentials(key_id, secret, token))

    def request(self, api, *args):
        return self.protocol.make_request(api, self.signer, self.context, *args)

    def answer(self, api, query, response):
        """What OTSClient does with the answer: check it (signature included), raise or parse."""
        self.protocol.handle_error(api, query, response.status, "", response.headers, response.body, self.signer,
                                   self.context)
        return self.protocol.parse_response(api, response.status, response.headers, response.body)

    def call(self, backend, api, *args, tamper=None):
        query, headers, body = self.request(api, *args)
        if tamper:
            headers, body = tamper(dict(headers), body)
        return self.answer(api, query, handle(backend, "POST", "http://127.0.0.1:1" + query, headers, body))


def create(sdk, backend, table="t"):
    sdk.call(backend, "CreateTable", TableMeta(table, [("pk", "STRING")]), TableOptions(),
             ReservedThroughput(CapacityUnit(0, 0)), None, [])


def put(key="a", condition=RowExistenceExpectation.IGNORE):
    return ("PutRow", "t", Row([("pk", key)], [("v", 1)]), Condition(condition), None, None)


def service_error(call, *args, **kwargs) -> OTSServiceError:
    with pytest.raises(OTSServiceError) as raised:
        call(*args, **kwargs)
    return raised.value


def test_a_signed_request_is_answered_and_the_sdk_accepts_the_answers_signature(backend):
    sdk = Sdk(*backend.key)
    create(sdk, backend)
    sdk.call(backend, *put())
    consumed, row, _ = sdk.call(backend, "GetRow", "t", [("pk", "a")], None, None, 1, None, None, None, None, None)
    assert row.attribute_columns[0][:2] == ("v", 1)


def test_the_sdk_refuses_an_answer_whose_signature_was_changed(backend):
    sdk = Sdk(*backend.key)
    query, headers, body = sdk.request("ListTable")
    response = handle(backend, "POST", "http://h" + query, headers, body)
    assert response.status == 200 and response.headers["Authorization"].startswith("OTS %s:" % backend.key[0])
    response.headers["x-ots-requestid"] = "another"            # a signed header changed on the way
    with pytest.raises(OTSClientError, match="Invalid signature in response"):
        sdk.answer("ListTable", query, response)


def test_the_signature_rule_is_the_sdks(backend):
    sdk = Sdk(*backend.key)
    query, headers, body = sdk.request("ListTable")
    assert request_signature(backend.key[1], query, headers) == headers["x-ots-signature"]
    assert "x-ots-signature" not in canonical_headers(headers)


@pytest.mark.parametrize("tamper, message", [
    (lambda h, b: (h, b + b"\x00"), "Mismatch between MD5 value of request body and x-ots-contentmd5 in header."),
    (lambda h, b: ({**h, "x-ots-signature": "AAAA" + h["x-ots-signature"][4:]}, b), "Signature mismatch."),
    (lambda h, b: ({**h, "x-ots-date": "2001-01-01T00:00:00.000Z"}, b),
     "Mismatch between system time and x-ots-date: 2001-01-01T00:00:00.000Z."),
])
def test_a_tampered_request_is_refused_as_the_service_does(backend, tamper, message):
    sdk = Sdk(*backend.key)
    error = service_error(sdk.call, backend, "ListTable", tamper=tamper)
    assert (error.http_status, error.code, error.message) == (403, "OTSAuthFailed", message)


def test_a_wrong_secret_an_unknown_key_and_an_unknown_instance_are_refused(backend):
    key_id, secret = backend.key
    assert service_error(Sdk(key_id, "wrong").call, backend, "ListTable").message == "Signature mismatch."
    assert service_error(Sdk("LTAIunknown", secret).call, backend, "ListTable").message \
        == "The AccessKeyID does not exist."
    error = service_error(Sdk(key_id, secret, instance="elsewhere").call, backend, "ListTable")
    assert (error.http_status, error.code, error.message) == (403, "OTSAuthFailed", "The instance is not found.")


def test_an_sts_token_is_carried_and_a_v4_signature_refused(backend):
    key_id, secret = backend.key
    Sdk(key_id, secret, token="sts-token").call(backend, "ListTable")
    v4 = SignV4("utf8", region="cn-hangzhou")
    assert "not emulated" in service_error(Sdk(key_id, secret, signer=v4).call, backend, "ListTable").message


def test_malformed_requests_get_the_services_http_errors(backend):
    sdk = Sdk(*backend.key)
    query, headers, body = sdk.request("ListTable")
    missing = {k: v for k, v in headers.items() if k != "x-ots-contentmd5"}
    response = handle(backend, "POST", "http://h" + query, missing, body)
    error = service_error(sdk.answer, "ListTable", query, response)
    assert (error.http_status, error.code, error.message) == (400, "OTSParameterInvalid",
                                                             "Missing header: x-ots-contentmd5.")
    response = handle(backend, "GET", "http://h" + query, headers, body)
    assert response.status == 405
    assert service_error(sdk.answer, "ListTable", query, response).code == "OTSMethodNotAllowed"
    query, headers, body = sdk.request("BatchWriteRow", _batch())
    error = service_error(sdk.answer, "BatchWriteRow", query, handle(backend, "POST", "http://h" + query, headers, body))
    assert (error.http_status, error.message) == (400, "Unsupported operation: BatchWriteRow.")


def test_a_body_that_is_not_the_operations_message_is_invalid(backend):
    sdk = Sdk(*backend.key)
    create(sdk, backend)
    query, headers, body = sdk.request("GetRow", "t", [("pk", "a")], None, None, 1, None, None, None, None, None)
    query = "/PutRow"                                 # a GetRow body sent to PutRow, signed as such
    headers = dict(headers, **{"x-ots-signature": request_signature(backend.key[1], query, headers)})
    error = service_error(sdk.answer, "PutRow", query, handle(backend, "POST", "http://h" + query, headers, body))
    assert (error.http_status, error.code) == (400, "OTSParameterInvalid")


def test_a_table_that_does_not_exist_is_404(backend):
    sdk = Sdk(*backend.key)
    error = service_error(sdk.call, backend, "DescribeTable", "nope")
    assert (error.http_status, error.code, error.message) == (404, "OTSObjectNotExist", "Requested table does not exist.")
    create(sdk, backend)
    error = service_error(create, sdk, backend)
    assert (error.http_status, error.code) == (409, "OTSObjectAlreadyExist")


@pytest.mark.parametrize("code, status", [("OTSServerBusy", 503), ("OTSQuotaExhausted", 403),
                                          ("OTSRowOperationConflict", 409), ("OTSTimeout", 503),
                                          ("OTSInternalServerError", 500), ("OTSNotEnoughCapacityUnit", 403),
                                          ("OTSPartitionUnavailable", 503), ("OTSServerUnavailable", 503)])
def test_a_failure_is_answered_with_its_status_and_the_write_not_applied(backend, code, status):
    sdk = Sdk(*backend.key)
    create(sdk, backend)
    backend.faults.fail_next("PutRow", code)
    error = service_error(sdk.call, backend, *put())
    assert (error.http_status, error.code) == (status, code)
    assert backend.get_row(INSTANCE, "t", _key("a"), _latest()) is None


@pytest.mark.parametrize("mode, status, code", [("error", 500, "OTSInternalServerError"), ("timeout", 503, "OTSTimeout")])
def test_a_lost_answer_comes_after_the_write_applied(backend, mode, status, code):
    sdk = Sdk(*backend.key)
    create(sdk, backend)
    backend.faults.lose_response("PutRow", mode)
    error = service_error(sdk.call, backend, *put())
    assert (error.http_status, error.code) == (status, code)
    assert backend.get_row(INSTANCE, "t", _key("a"), _latest()) is not None
    assert backend.calls[-1].operation == "PutRow" and backend.calls[-1].fault == mode


def test_a_dropped_or_held_answer_is_left_to_the_transport(backend):
    sdk = Sdk(*backend.key)
    create(sdk, backend)
    for mode, key in (("drop", "a"), ("hold", "b")):
        backend.faults.lose_response("PutRow", mode)
        query, headers, body = sdk.request(*put(key))
        response = handle(backend, "POST", "http://h" + query, headers, body)
        assert response.delivery == mode and response.after is None
        assert backend.get_row(INSTANCE, "t", _key(key), _latest()) is not None    # applied before the loss
    backend.faults.lose_response("PutRow", "stall")
    query, headers, body = sdk.request(*put("c"))
    response = handle(backend, "POST", "http://h" + query, headers, body)
    assert response.delivery == "hold" and backend.get_row(INSTANCE, "t", _key("c"), _latest()) is None
    response.after()                                          # the client gave up; the write lands late
    assert backend.get_row(INSTANCE, "t", _key("c"), _latest()) is not None


def test_the_answers_date_is_the_services_clock(backend):
    sdk = Sdk(*backend.key)
    query, headers, body = sdk.request("ListTable")
    when = datetime.datetime(2030, 1, 2, 3, 4, 5)
    response = handle(backend, "POST", "http://h" + query, headers, body, now=when)
    assert response.status == 403                              # the request's date is 15+ minutes away
    assert response.headers["x-ots-date"] == "2030-01-02T03:04:05.000Z"


def _key(value):
    from image_repair.emulator.tablestore.plainbuffer import Cell, Value
    return [Cell("pk", Value.string(value))]


def _latest():
    from image_repair.emulator.tablestore.backend import ReadOptions
    return ReadOptions(max_versions=1)


def _batch():
    from tablestore import BatchWriteRowRequest, PutRowItem, TableInBatchWriteRowItem
    request = BatchWriteRowRequest()
    request.add(TableInBatchWriteRowItem("t", [PutRowItem(Row([("pk", "a")], [("v", 1)]),
                                                          Condition(RowExistenceExpectation.IGNORE))]))
    return request
