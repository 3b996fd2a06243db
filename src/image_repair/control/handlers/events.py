"""FC handler ``image-repair-events`` (EventBridge trigger): parse the delivery, start a watched
repair per recognised event through CloudFlow, return ``{accepted: [...], ignored: [{reason}]}``.
Bad events are ignored with a reason (never raised: no redelivery loop); docs/events.md.

Configuration (environment):
* IMAGE_REPAIR_EVENT_DEFAULTS (else IMAGE_REPAIR_SWEEP_DEFAULTS, the same repair defaults in
  s.yaml): a JSON object of the start parameters events do not carry (zoneId, vSwitchId,
  securityGroupId, instanceType, systemDiskCategory, repairItems...; the seed template's names);
* IMAGE_REPAIR_EVENT_POLICY: a JSON object ``{"items": [...] | null, "riskLevels": ["High"]}``,
  the policy of events that carry none (default: any repairable item at High risk);
* FC_REGION (set by FC): events for images of other regions are ignored."""
from pydantic import ValidationError

from ..clients.cloudflow import cloudflow_from_env
from ..launchers import CloudFlowLauncher
from ..logs import configure_for_function
from ..models import WatchPolicy
from ..steps.runner import HandlerError
from ..triggers.events import handle_delivery
from .fc import json_env, ports_from_env, region_default


def event_defaults() -> dict:
    return json_env("IMAGE_REPAIR_EVENT_DEFAULTS", "IMAGE_REPAIR_SWEEP_DEFAULTS") or {}


def event_policy():
    raw = json_env("IMAGE_REPAIR_EVENT_POLICY")
    try:
        return WatchPolicy.model_validate(raw or {})
    except ValidationError as error:
        raise HandlerError("InvalidConfiguration", "IMAGE_REPAIR_EVENT_POLICY: %s" % error)


def handler(event, context=None):
    configure_for_function()
    summary = handle_delivery(event, ports_from_env().store, CloudFlowLauncher(cloudflow_from_env()),
                              defaults=event_defaults(), policy=event_policy(), region=region_default())
    return summary.model_dump()
