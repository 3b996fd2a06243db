"""The entry point's logic: validate the parameters, record the execution (deterministic id: the
same repair asked twice is one execution). Starting the flow is the caller's: CloudFlow in the
cloud, the local runner on one machine."""
from typing import Optional, Tuple

from ..models import RepairRequest, parse_request
from ..store import Execution, StateStore


def record_execution(store: StateStore, raw: dict, defaults: Optional[dict] = None) -> Tuple[Execution, bool, RepairRequest]:
    request = parse_request(raw, defaults)
    execution, created = store.create_execution(request.execution_id(), request.repairImageId, request.model_dump())
    return execution, created, request
