"""FC handler ``image-repair-sweep`` (timer trigger): the scheduled sweep, then the janitor.

The timer's payload (optional, a JSON object as a string): ``{"dryRun": false, "maxStarts": 20,
"policy": {"items": [...], "riskLevels": ["High"], "maxConcurrent": 10}, "janitorTtlHours": 6,
"janitor": true}``. The start parameters every repair gets besides the image and its items
(zoneId, vSwitchId, securityGroupId, instanceType, ...) come from IMAGE_REPAIR_SWEEP_DEFAULTS (a
JSON object, the seed template's names); the fan-out from IMAGE_REPAIR_FANOUT (clients/fc.py).
The janitor runs even when the sweep fails (then the sweep's error is raised after it)."""
import logging
import os

from .fc import HandlerError, json_env, parse_event, ports_from_env

log = logging.getLogger(__name__)


def payload_of(event) -> dict:
    raw = parse_event(event)
    if "triggerTime" in raw or "triggerName" in raw:           # a timer trigger: payload is a string
        raw = raw.get("payload") or {}
        if isinstance(raw, str):
            raw = parse_event(raw) if raw.strip() else {}
    if not isinstance(raw, dict):
        raise HandlerError("InvalidInput", "the sweep's payload must be a JSON object")
    unknown = set(raw) - {"dryRun", "maxStarts", "policy", "janitorTtlHours", "janitor"}
    if unknown:
        raise HandlerError("InvalidInput", "unknown sweep payload keys: %s" % ", ".join(sorted(unknown)))
    return raw


def sweep_defaults() -> dict:
    return json_env("IMAGE_REPAIR_SWEEP_DEFAULTS") or {}


def handler(event, context=None):
    from pydantic import ValidationError

    from ..clients.fc import launcher_from_env
    from ..models import InvalidRequest
    from ..triggers.janitor import JANITOR_TTL_S, janitor
    from ..triggers.sweep import SweepPolicy, sweep
    payload = payload_of(event)
    try:
        policy = SweepPolicy.model_validate(payload.get("policy") or {})
    except ValidationError as error:
        raise HandlerError("InvalidInput", "bad sweep policy: %s" % error)
    dry_run = bool(payload.get("dryRun", False))
    ports = ports_from_env()
    result, failure = {}, None
    try:
        launcher = None if dry_run else launcher_from_env(ports.store)
        result["sweep"] = sweep(ports.ecs, ports.store, launcher, policy, dry_run=dry_run,
                                max_starts=payload.get("maxStarts"), defaults=sweep_defaults()).model_dump()
    except InvalidRequest as error:
        failure = HandlerError("InvalidConfiguration", "IMAGE_REPAIR_SWEEP_DEFAULTS: %s" % error)
    except Exception as error:      # the janitor still runs; the error is raised after it
        failure = error
    if payload.get("janitor", True):
        hours = payload.get("janitorTtlHours") or os.environ.get("IMAGE_REPAIR_JANITOR_TTL_HOURS")
        ttl_s = float(hours) * 3600 if hours else JANITOR_TTL_S
        result["janitor"] = janitor(ports.ecs, ports.store, ttl_s=ttl_s, dry_run=dry_run).model_dump()
    if failure is not None:
        log.warning("sweep.failed", extra={"error": str(failure)})
        raise failure
    return result
