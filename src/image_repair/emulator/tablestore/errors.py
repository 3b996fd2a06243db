"""The Tablestore errors the emulator answers: code, HTTP status, message.

Source: the error-code page (https://www.alibabacloud.com/help/en/tablestore/developer-reference/error-codes,
doc-detail/27300) and, for the 503 family, "Why a few 500 errors occur"
(https://www.alibabacloud.com/help/faq-detail/59899.htm). docs/cloud-contracts.md lists which rows
were read here and which are the emulator's assumptions. On the wire an error is a protobuf
``Error {code, message}`` with that HTTP status; the SDK raises ``OTSServiceError(status, code,
message, request_id)`` from it.
"""
from typing import Dict, Optional, Tuple

# code -> (HTTP status, the service's message when the page gives one fixed text)
CATALOGUE: Dict[str, Tuple[int, str]] = {
    # access control
    "OTSAuthFailed": (403, "Signature mismatch."),
    # HTTP messages
    "OTSMethodNotAllowed": (405, "OTSMethodNotAllowedOnly POST method for requests is supported."),
    "OTSRequestBodyTooLarge": (413, "The size of POST data is too large."),
    "OTSParameterInvalid": (400, "Invalid parameter."),
    # API operations
    "OTSConditionCheckFail": (403, "Condition check failed."),
    "OTSObjectNotExist": (404, "Requested table does not exist."),
    "OTSObjectAlreadyExist": (409, "Requested table already exists."),
    "OTSRowOperationConflict": (409, "Data is being modified by the other request."),
    "OTSQuotaExhausted": (403, "Too frequent table operations."),
    "OTSNotEnoughCapacityUnit": (403, "Remaining capacity unit is not enough."),
    "OTSTableNotReady": (404, "The table is not ready."),
    "OTSOutOfColumnCountLimit": (400, "The number of columns from the request exceeds the limit."),
    # the server's own trouble (503 unless noted)
    "OTSInternalServerError": (500, "Internal server error."),
    "OTSServerBusy": (503, "Server is busy."),
    "OTSPartitionUnavailable": (503, "The partition is not available."),
    "OTSServerUnavailable": (503, "Server is not available."),
    "OTSTimeout": (503, "Operation timeout."),
}


class OTSError(Exception):
    """An error the service answers: ``code`` (the catalogue's), its status, a message."""

    def __init__(self, code: str, message: Optional[str] = None):
        if code not in CATALOGUE:
            raise ValueError("unknown Tablestore error code %r (errors.CATALOGUE)" % code)
        self.code = code
        self.status, default = CATALOGUE[code]
        self.message = message or default
        super().__init__("%s: %s" % (code, self.message))


def invalid(message: str) -> OTSError:
    return OTSError("OTSParameterInvalid", message)


def condition_failed() -> OTSError:
    return OTSError("OTSConditionCheckFail")
