"""FC handler ``image-repair-events`` (EventBridge trigger): parse the delivery, start a watched
repair per recognised event through CloudFlow, return ``{accepted: [...], ignored: [{reason}]}``.
Bad events are ignored with a reason (never raised: no redelivery loop); docs/events.md.

Configuration (the container's settings, control/settings.py):
* IMAGE_REPAIR_EVENT_DEFAULTS (else IMAGE_REPAIR_SWEEP_DEFAULTS, the same repair defaults in
  s.yaml): a JSON object of the start parameters events do not carry (zoneId, vSwitchId,
  securityGroupId, instanceType, systemDiskCategory, repairItems...; the seed template's names);
* IMAGE_REPAIR_EVENT_POLICY: a JSON object ``{"items": [...] | null, "riskLevels": ["High"]}``,
  the policy of events that carry none (default: any repairable item at High risk);
* FC_REGION (set by FC): events for images of other regions are ignored."""
from ..clients.cloudflow import cloudflow_starter
from ..launchers import CloudFlowLauncher
from ..models import Invalid, WatchPolicy, describe_validation_error
from ..steps.runner import HandlerError
from ..triggers.events import handle_delivery
from .fc import ports_from_env, start_invocation


def event_policy(settings):
    """The settings' IMAGE_REPAIR_EVENT_POLICY as a WatchPolicy (HandlerError InvalidConfiguration)."""
    try:
        return WatchPolicy.model_validate(settings.event_policy or {})
    except Invalid as error:
        raise HandlerError("InvalidConfiguration", describe_validation_error(error, "IMAGE_REPAIR_EVENT_POLICY"))


def handler(event, context=None):
    settings = start_invocation()
    summary = handle_delivery(event, ports_from_env().store, CloudFlowLauncher(cloudflow_starter(settings)),
                              defaults=settings.repair_defaults_for_events(), policy=event_policy(settings),
                              region=settings.function_region)
    return summary.model_dump()
