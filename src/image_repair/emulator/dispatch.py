"""Calls by action name: what every transport (the gateway over HTTP, ``backend.handle``) goes
through between an authenticated request and the action's wire method.

``EcsResponses`` composes the wire methods of every resource family (actions/) and finds an
action's method by its name; around it, the ECS API's common behaviour: flow control
(ratelimit.py), injected faults, the region check, ClientToken idempotency (the same token and
parameters answer the first body, other parameters IdempotentParameterMismatch) and the call log. Unknown actions fail loudly
(InvalidAction.NotFound)."""
import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from .actions.commands import CommandResponses
from .actions.disks import DiskResponses
from .actions.images import ImageResponses
from .actions.instances import InstanceResponses
from .actions.instance_types import InstanceTypeResponses
from .actions.storage import StorageResponses
from .actions.tags import TagResponses
from .errors import ApiError, error
from .params import Params
from .resources import request_id

if TYPE_CHECKING:  # the backend owns its EcsResponses: a type-only import, no cycle
    from .backend import EcsBackend

# Actions taking a ClientToken (ECS API reference).
TOKEN_ACTIONS = {"RunInstances", "CreateSnapshot", "CreateDisk", "CreateImage", "RunCommand",
                 "InvokeCommand", "SendFile"}
# Cloud Assistant reports ClientToken errors with its own codes and statuses.
CLOUD_ASSISTANT = {"RunCommand", "InvokeCommand", "SendFile"}


@dataclass
class CallRecord:
    action: str
    params: Dict[str, str]
    time: float
    error_code: Optional[str] = None
    lost: Optional[str] = None
    access_key_id: Optional[str] = None
    style: str = "direct"  # direct | V3 | RPC | rejected (refused by the gateway)


@dataclass
class CallResult:
    body: dict
    lost: Optional[str] = None  # "timeout" | "error": committed, but the client must not see it


class EcsResponses(ImageResponses, InstanceResponses, InstanceTypeResponses, StorageResponses, DiskResponses,
                   CommandResponses, TagResponses):
    """The ECS API's wire methods over one backend, with the memory the wire needs: ClientTokens
    and DescribeImages' paging (actions/images.py)."""

    def __init__(self, backend: "EcsBackend"):
        self.backend = backend
        self.tokens: Dict[Tuple[str, str], Tuple[tuple, dict]] = {}
        self.listing: Optional[tuple] = None

    @classmethod
    def actions(cls) -> List[str]:
        return sorted(name for name in dir(cls) if getattr(getattr(cls, name), "is_ecs_action", False))

    def handle(self, action: str, flat: Dict[str, str], access_key_id: Optional[str] = None,
               style: str = "direct") -> CallResult:
        """Run one action; raises ApiError for API errors (already logged)."""
        backend = self.backend
        with backend.operation():
            record = CallRecord(action, dict(flat), backend.clock.now(), access_key_id=access_key_id, style=style)
            backend.calls.append(record)
            try:
                body = self._run(action, Params(flat), access_key_id)
            except ApiError as err:
                record.error_code = err.code
                raise
            record.lost = backend.faults.take_lost(action)
            return CallResult(body, record.lost)

    def _run(self, action: str, params: Params, access_key_id: Optional[str] = None) -> dict:
        method = getattr(self, action, None)
        if method is None or not getattr(method, "is_ecs_action", False):
            raise error("InvalidAction.NotFound")
        account = self.backend.accounts.get(access_key_id or "")
        if not self.backend.rate_limits.take(action, self.backend.clock.now(), account.account_id if account else ""):
            raise error("Throttling.User")      # over its flow control (ratelimit.py): nothing committed
        injected = self.backend.faults.take_error(action)
        if injected is not None:
            raise injected
        region = params.str("RegionId")
        if region is not None and region != self.backend.region:
            raise error("InvalidRegionId.NotFound")
        token = params.str("ClientToken") if action in TOKEN_ACTIONS else None
        if token is not None:
            assistant = action in CLOUD_ASSISTANT
            if len(token) > 64 or not token.isascii():
                raise error("InvalidClientToken.Malformed" if assistant else "InvalidClientToken.ValueNotSupported")
            remembered = self.tokens.get((action, token))
            if remembered is not None:
                fingerprint, body = remembered
                if fingerprint != params.fingerprint():
                    mismatch = error("IdempotentParameterMismatch")
                    if assistant:
                        mismatch.status = 403
                        mismatch.message = "The specified parameter has changed while using an already used clientToken."
                    raise mismatch
                return dict(copy.deepcopy(body), RequestId=request_id())
        body = method(params)
        body["RequestId"] = request_id()
        if token is not None:
            self.tokens[(action, token)] = (params.fingerprint(), copy.deepcopy(body))
        return body
