"""The workflow's data at its edges: the start parameters (the seed template's names) and the small
object the flow passes between states. Validation errors name the parameter and what is expected.

Dataclasses checked by ``records.Fields``, not pydantic models: every Function Compute step reads
its event and the execution's parameters on its first invocation, and building pydantic models
was most of that cold start (records.py, docs/bench.md section 3). The messages keep pydantic's
wording, so describe_validation_error words both kinds of error alike.

Heavy state (instances, snapshots, reports) lives in the store, never in the flow: the flow only
carries the execution id, a poll's attempt counter and wait, and a failure flag.
"""
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

from ..agent.errors import BadInput
from ..agent.items import ITEM_NAMES, SEED_DEFAULT, parse_item_list
from .inputs import load_json, shorten
from .records import Fields, Invalid, Record

# ID shapes (ECS documentation): custom images m-..., public images by name (aliyun_3_x64_...).
# Lengths (docs/cloud-contracts.md, "Start parameters"): the SDK documents no length for ZoneId,
# InstanceType, SecurityGroupId or VSwitchId, so every id is bounded at MAX_ID (real ones are
# under 40 characters); image ids and names follow CreateImage's ImageName (2-128 characters).
MAX_ID = 128
CUSTOM_IMAGE_ID = r"^m-[a-z0-9]{8,32}$"
ANY_IMAGE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,127}$"
REGION_ID = r"^[a-z]{2,}(-[a-z0-9]+)+$"
ZONE_ID = r"^[a-z]{2,}(-[a-z0-9]+)+$"
INSTANCE_TYPE = r"^ecs\.[a-z0-9-]+\.[a-z0-9]+$"
SECURITY_GROUP_ID = r"^sg-[a-z0-9]{8,32}$"
VSWITCH_ID = r"^vsw-[a-z0-9]{8,32}$"
MAX_ITEMS_TEXT = 1024       # "virtio,fstab,..." as one string: every item name fits many times over
MAX_ITEM_ENTRIES = 64       # a list of item names (there are fewer than 20 items)
MAX_PROBLEMS = 10           # a validation message names at most this many problems
DISK_CATEGORIES = ("cloud_essd", "cloud_ssd", "cloud_efficiency", "cloud", "cloud_auto", "cloud_essd_entry")


class InvalidRequest(ValueError):
    """Bad start parameters: one message naming every problem. ``code`` for the flow/FC."""
    code = "InvalidInput"


RISK_LEVELS = ("High", "Medium")
ENGINES = ("agent", "alibaba")


def _known_items(value: Optional[List[str]]) -> Optional[List[str]]:
    unknown = [v for v in value or [] if v not in ITEM_NAMES]
    if unknown:
        raise ValueError("unknown repair items %s (known: %s)" % (shorten(unknown), ", ".join(ITEM_NAMES)))
    return value


@dataclass(frozen=True)
class WatchPolicy(Record):
    """When a watched image (an event's) is repaired: a repairable item whose check item is at risk
    at one of ``riskLevels``, among ``items`` (None: every repairable item). Default: any
    repairable item at High risk (the sweep's default too)."""
    forbid_extra = True

    items: Optional[List[str]] = None
    riskLevels: List[str] = field(default_factory=lambda: ["High"])

    @classmethod
    def check(cls, fields: Fields) -> Dict[str, Any]:
        items = fields.text_list("items", None, optional=True, max_items=MAX_ITEM_ENTRIES, max_length=MAX_ID)
        levels = fields.text_list("riskLevels", ["High"], min_items=1, max_items=len(RISK_LEVELS) * 4)
        for index, level in enumerate(levels or []):
            if level not in RISK_LEVELS:
                fields.problem(("riskLevels", index), "literal_error", "Input should be 'High' or 'Medium'", level)
        return {"items": fields.custom("items", _known_items, items), "riskLevels": levels}


def _repair_items(value: Any) -> List[str]:
    """``repairItems``: a list (the seed's type) or one string ("auto", "all", "virtio,fstab"),
    normalised to a list of known items (or ["auto"])."""
    if isinstance(value, str) and len(value) > MAX_ITEMS_TEXT:
        raise ValueError("the item list is %d characters, more than %d" % (len(value), MAX_ITEMS_TEXT))
    if isinstance(value, (list, tuple)) and len(value) > MAX_ITEM_ENTRIES:
        raise ValueError("%d items listed, more than %d" % (len(value), MAX_ITEM_ENTRIES))
    if isinstance(value, (list, tuple)) and any(isinstance(v, str) and len(v) > MAX_ID for v in value):
        raise ValueError("an item name is longer than %d characters" % MAX_ID)
    try:
        names, auto = parse_item_list(value)   # the agent's own parser: one list of known items
    except BadInput as error:
        raise ValueError(str(error))
    if isinstance(value, (list, tuple)) and len(value) == 1 and value[0] in ("auto", "all"):
        value = value[0]
    if value == "auto" and auto:
        return ["auto"]
    return names


@dataclass(frozen=True)
class RepairRequest(Record):
    """Start parameters of one repair, under the seed template's names plus engine/allowPartial/dryRun.

    ``watch`` (events): first wait until the image is Available and its check Finished, then
    repair only when ``policy`` finds an item at risk (else the execution ends healthy)."""
    forbid_extra = True

    regionId: str
    zoneId: str
    repairImageId: str
    instanceType: str
    securityGroupId: str
    vSwitchId: str
    baseImageId: Optional[str] = None
    systemDiskCategory: str = "cloud_essd"
    # A list (the seed's type) or one string ("auto", "all", "virtio,fstab"); normalised to a list.
    repairItems: List[str] = field(default_factory=lambda: list(SEED_DEFAULT))
    engine: str = "agent"
    allowPartial: bool = False
    dryRun: bool = False
    watch: bool = False
    policy: Optional[WatchPolicy] = None
    # Run a finished repair again with the same parameters: 1, 2... make new executions (the same
    # retry number asked twice is still one execution).
    retry: int = 0
    # Repair on a shared, warm pool host (docs/pool.md) instead of a host of its own.
    pool: bool = False

    @classmethod
    def check(cls, fields: Fields) -> Dict[str, Any]:
        items = fields.raw.get("repairItems", MISSING_ITEMS)
        fields.seen.add("repairItems")
        return {
            "regionId": fields.text("regionId", max_length=MAX_ID, pattern=REGION_ID),
            "zoneId": fields.text("zoneId", max_length=MAX_ID, pattern=ZONE_ID),
            "repairImageId": fields.text("repairImageId", max_length=MAX_ID, pattern=CUSTOM_IMAGE_ID),
            "baseImageId": fields.text("baseImageId", None, optional=True, max_length=MAX_ID, pattern=ANY_IMAGE_ID),
            "instanceType": fields.text("instanceType", max_length=MAX_ID, pattern=INSTANCE_TYPE),
            "securityGroupId": fields.text("securityGroupId", max_length=MAX_ID, pattern=SECURITY_GROUP_ID),
            "vSwitchId": fields.text("vSwitchId", max_length=MAX_ID, pattern=VSWITCH_ID),
            "systemDiskCategory": fields.choice("systemDiskCategory", DISK_CATEGORIES, "cloud_essd"),
            "repairItems": list(SEED_DEFAULT) if items is MISSING_ITEMS
            else fields.custom("repairItems", _repair_items, items),
            "engine": fields.choice("engine", ENGINES, "agent"),
            "allowPartial": fields.boolean("allowPartial", False),
            "dryRun": fields.boolean("dryRun", False),
            "watch": fields.boolean("watch", False),
            "policy": fields.record("policy", WatchPolicy, None, optional=True),
            "retry": fields.integer("retry", 0, ge=0, le=99),
            "pool": fields.boolean("pool", False),
        }

    @classmethod
    def after_check(cls, request: "RepairRequest") -> None:
        if request.engine == "alibaba" and request.dryRun:
            raise ValueError("dryRun needs engine 'agent' (the public command has no dry run)")
        if request.policy is not None and not request.watch:
            raise ValueError("policy applies to watched images only (watch: true)")

    @property
    def auto_items(self) -> bool:
        return self.repairItems == ["auto"]

    def execution_id(self) -> str:
        """Deterministic: the same repair asked twice is one execution (and one CloudFlow name)."""
        # A plain repair hashes exactly the fields it always had (its ids do not change); a watched
        # one hashes its policy too and is named watch-...: the flow's input flag comes from that.
        excluded = (set() if self.watch else {"watch", "policy"}) | (set() if self.retry else {"retry"}) | \
            (set() if self.pool else {"pool"})
        fields = self.model_dump(exclude=excluded)
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        prefix = WATCH_PREFIX if self.watch else "repair-"
        return "%s%s-%s" % (prefix, self.repairImageId, hashlib.sha256(canonical.encode()).hexdigest()[:12])


MISSING_ITEMS = object()     # repairItems not given: the seed's default


WATCH_PREFIX = "watch-"


def flow_input(execution_id: str) -> dict:
    """The flow's input for an execution: its id, and ``watch`` (the flow's first Choice) read from
    the id itself, so every launcher (CloudFlow, the local runner) passes the same flag."""
    return {"executionId": execution_id, "watch": execution_id.startswith(WATCH_PREFIX)}


def parse_request(raw: Union[dict, str, bytes, None], defaults: Optional[dict] = None) -> RepairRequest:
    """Build a RepairRequest, raising InvalidRequest (one line naming every problem, each bad
    value quoted by a short prefix). Text is bounded in size and depth before it is parsed."""
    if isinstance(raw, (bytes, bytearray, str)):
        try:
            raw = load_json(raw or "{}", "the start request")
        except ValueError as error:
            raise InvalidRequest(str(error))
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidRequest("the start request must be a JSON object")
    merged = dict(defaults or {})
    merged.update({k: v for k, v in raw.items() if v is not None})
    try:
        return RepairRequest.model_validate(merged)
    except Invalid as error:
        raise InvalidRequest(describe_validation_error(error))


def describe_validation_error(error: Any, what: str = "invalid repair parameters") -> str:
    """One line: ``what: field: problem; ...`` (at most MAX_PROBLEMS problems, every value and
    unknown name quoted by a short prefix, so the line stays short whatever the input). ``error``:
    records.Invalid or a pydantic ValidationError (the triggers' models), alike in ``errors()``."""
    problems = error.errors(include_url=False)
    lines = [describe_problem(problem) for problem in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        lines.append("and %d more problems" % (len(problems) - MAX_PROBLEMS))
    return "%s: %s" % (what, "; ".join(lines))


def describe_problem(problem: dict) -> str:
    where = ".".join(str(p) for p in problem["loc"]) or "parameters"
    if len(where) > SHORT_WHERE or not where.isprintable():     # an unknown name is the caller's text
        where = shorten(where)
    kind, message = problem["type"], problem["msg"]
    if kind == "missing":
        message = "missing (required)"
    elif kind == "extra_forbidden":
        message = "unknown parameter"
    elif kind == "string_pattern_mismatch":
        message = "%s is malformed (expected %s)" % (shorten(problem.get("input")), problem["ctx"]["pattern"])
    elif kind == "string_too_long":
        message = "%s is too long (at most %s characters)" % (shorten(problem.get("input")),
                                                             problem["ctx"]["max_length"])
    elif message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if len(message) > SHORT_MESSAGE:   # messages of other kinds may quote the input in full
        message = message[:SHORT_MESSAGE] + "..."
    return "%s: %s" % (where, message.replace("\n", " "))


SHORT_WHERE = 80
SHORT_MESSAGE = 300


MAX_EXECUTION_ID = 128
MAX_TEXT = 65_536


@dataclass
class FlowState(Record):
    """What every handler returns and the flow passes on (small: the store holds the rest).

    Two kinds of "not yet", both routed by the flow's Choice/Wait loops, never by error names:
    a poll that has not reached its state (``ready`` False) and a transient failure (``retry``
    True: throttling, a 5xx, a lost response, a concurrent attempt), decided by our code because
    Function Compute transmits no error code of ours (docs/flow.md, "Errors").

    Built by our own steps (not read from outside): the constructor checks the execution id only."""
    executionId: str
    step: str = ""              # the step that answered (names the state in a give-up)
    ready: bool = True          # a poll: the awaited state was reached
    attempt: int = 0            # a poll: how many times it has looked (bounded by the flow's Choice)
    waitSeconds: int = 1        # a poll or a retry: the next Wait, 1-300 s
    waitingFor: str = ""        # a poll: what it waits for (progress, and the timeout's detail)
    failed: bool = False        # the execution has failed (clean-up then Fail)
    healthy: bool = False       # watch_source_image: nothing at risk under the policy (no repair)
    retry: bool = False         # a transient failure: call the same step again after waitSeconds
    retries: int = 0            # consecutive retries of this step (bounded by the flow's Choice)
    errorCode: Optional[str] = None     # with retry: the transient error (the cause if retries run out)
    errorDetail: Optional[str] = None
    resume: bool = False        # clean_up: an unexplained failure (a killed function): run resumeState again
    resumeState: Optional[str] = None
    incomplete: bool = False    # clean_up: something could not be deleted (the execution says what)
    imageId: Optional[str] = None       # finish: the new image (the seed template's output)
    status: Optional[str] = None        # finish: the execution's final status
    itemsAtRiskBefore: Optional[List[str]] = None   # finish: check items at risk before and after
    itemsAtRiskAfter: Optional[List[str]] = None

    def __post_init__(self) -> None:
        if not isinstance(self.executionId, str) or not 1 <= len(self.executionId) <= MAX_EXECUTION_ID:
            raise ValueError("FlowState.executionId must be 1-%d characters" % MAX_EXECUTION_ID)


@dataclass(frozen=True)
class FlowEvent(Record):
    """A step handler's input: the execution and, for polls, the attempt; for retries their count;
    Catch adds the error (``caught``: it escaped a function, which our code did not decide).
    Unknown names are ignored (the flow passes the whole state on)."""
    executionId: str
    attempt: int = 0
    retries: int = 0
    errorCode: Optional[str] = None
    errorDetail: Optional[str] = None
    failedState: Optional[str] = None
    caught: bool = False

    @classmethod
    def check(cls, fields: Fields) -> Dict[str, Any]:
        return {"executionId": fields.text("executionId", min_length=1, max_length=MAX_EXECUTION_ID),
                "attempt": fields.integer("attempt", 0, ge=0, le=10_000),
                "retries": fields.integer("retries", 0, ge=0, le=10_000),
                "errorCode": fields.text("errorCode", None, optional=True, max_length=256),
                "errorDetail": fields.text("errorDetail", None, optional=True, max_length=MAX_TEXT),
                "failedState": fields.text("failedState", None, optional=True, max_length=128),
                "caught": fields.boolean("caught", False)}


__all__ = ["RepairRequest", "WatchPolicy", "flow_input", "InvalidRequest", "parse_request", "FlowState", "FlowEvent", "ITEM_NAMES",
           "describe_validation_error", "Invalid"]
