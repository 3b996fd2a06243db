"""FC handler ``image-repair-sweep`` (timer trigger): the scheduled sweep, then the janitor.

The timer's event is ``{"triggerTime", "triggerName", "payload"}`` with ``payload`` a JSON object
as a string (FC allows up to 128 KB); invoked by hand, the event is the payload itself. The
payload (``triggers.sweep.SweepPayload``; docs/sweep-and-janitor.md)::

    {"dryRun": false, "maxStarts": 20, "policy": {"items": [...], "riskLevels": ["High"],
     "maxConcurrent": 10}, "janitorTtlHours": 6, "janitor": true}

Everything is checked before any work: the event and payload within bounds (size, depth), typed
strictly (``"false"`` is not a boolean, ``"1"`` not a number), numbers within their ranges, no
unknown key; then the container's settings (control/settings.py: IMAGE_REPAIR_JANITOR_TTL_HOURS,
IMAGE_REPAIR_SWEEP_DEFAULTS, IMAGE_REPAIR_FANOUT). A bad payload raises one HandlerError
``InvalidInput``, bad configuration ``InvalidConfiguration``, each with a one-line message quoting
at most a short prefix of a bad value; nothing is listed, started or deleted. The fan-out comes
from IMAGE_REPAIR_FANOUT (launchers.fanout_launcher). The janitor runs even when the sweep fails (then the sweep's
error is raised after it)."""
import logging

from pydantic import ValidationError

from ..launchers import fanout_launcher
from ..models import InvalidRequest
from ..steps.runner import HandlerError
from ..triggers import bounded
from ..triggers.bounded import TooBig, cut, loads, preview
from ..triggers.janitor import JANITOR_TTL_S, janitor
from ..triggers.pool_janitor import tend_pool
from ..triggers.sweep import SweepPayload, sweep
from .fc import ports_from_env, start_invocation

log = logging.getLogger(__name__)

MAX_EVENT_CHARS = 256 * 1024        # the timer's event: its payload (128 KB at most) and two fields
MAX_PAYLOAD_DEPTH = 8               # the payload nests 3 deep (payload, policy, items)
TIMER_FIELDS = ("triggerTime", "triggerName")


def sweep_payload(event):
    """The timer's event -> a validated ``SweepPayload`` (HandlerError InvalidInput otherwise)."""
    raw = _json_object(event, "the sweep's event")
    if any(field in raw for field in TIMER_FIELDS):          # a timer: payload is a string
        raw = raw.get("payload")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raw = {}
        elif isinstance(raw, str):
            raw = _json_object(raw, "the timer's payload")
    if not isinstance(raw, dict):
        raise HandlerError("InvalidInput", "the sweep's payload must be a JSON object")
    try:
        return SweepPayload.model_validate(raw)
    except ValidationError as error:
        raise HandlerError("InvalidInput", "bad sweep payload: %s" % one_line(error))


def payload_of(event) -> dict:
    """The validated payload as a dict (every field present)."""
    return sweep_payload(event).model_dump()


def _json_object(value, what: str):
    if isinstance(value, (bytes, bytearray)):
        if len(value) > MAX_EVENT_CHARS:
            raise HandlerError("InvalidInput", "%s is %d bytes (at most %d)" % (what, len(value), MAX_EVENT_CHARS))
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise HandlerError("InvalidInput", "%s is not UTF-8 text" % what)
    if isinstance(value, str):
        if len(value) > MAX_EVENT_CHARS:
            raise HandlerError("InvalidInput", "%s is %d characters (at most %d)" % (what, len(value),
                                                                                   MAX_EVENT_CHARS))
        try:
            value = loads(value.strip() or "{}", MAX_PAYLOAD_DEPTH, what)
        except (TooBig, ValueError) as error:
            raise HandlerError("InvalidInput", str(error))
    if not isinstance(value, dict):
        raise HandlerError("InvalidInput", "%s must be a JSON object" % what)
    return value


def one_line(error) -> str:
    """A pydantic ValidationError as one line: where, what, and a short prefix of the bad value."""
    problems = []
    for problem in error.errors()[:3]:
        where = ".".join(cut(str(p), 20) for p in problem["loc"]) or "payload"
        message = problem["msg"].replace("\n", " ")
        if problem["type"] == "extra_forbidden":
            message = "unknown key"
        elif problem["type"] != "missing":
            message += " (got %s)" % preview(problem.get("input"))
        problems.append("%s: %s" % (where, message))
    more = len(error.errors()) - len(problems)
    return bounded.one_line("; ".join(problems) + (" (and %d more)" % more if more > 0 else ""))


def janitor_ttl_s(payload, settings) -> float:
    """The janitor's TTL: the payload's janitorTtlHours, else the settings'
    IMAGE_REPAIR_JANITOR_TTL_HOURS (bounded there like the payload's), else 6 h."""
    if payload.janitorTtlHours is not None:
        return payload.janitorTtlHours * 3600
    if settings.janitor_ttl_hours is not None:
        return settings.janitor_ttl_hours * 3600
    return JANITOR_TTL_S


def handler(event, context=None):
    settings = start_invocation()
    payload = sweep_payload(event)          # everything checked before any work
    ttl_s = janitor_ttl_s(payload, settings)
    defaults = dict(settings.sweep_defaults or {})
    ports = ports_from_env()
    result, failure = {}, None
    try:
        launcher = None if payload.dryRun else fanout_launcher(settings, ports.store)
        result["sweep"] = sweep(ports.ecs, ports.store, launcher, payload.policy, dry_run=payload.dryRun,
                                max_starts=payload.maxStarts, defaults=defaults).model_dump()
    except InvalidRequest as error:
        failure = HandlerError("InvalidConfiguration", "IMAGE_REPAIR_SWEEP_DEFAULTS: %s" % error)
    except Exception as error:      # the janitor still runs; the error is raised after it
        failure = error
    if payload.janitor:
        result["janitor"] = janitor(ports.ecs, ports.store, ttl_s=ttl_s, dry_run=payload.dryRun).model_dump()
        result["pool"] = tend_pool(ports.ecs, ports.store, ports.pool, dry_run=payload.dryRun).model_dump()
    if failure is not None:
        log.warning("sweep.failed", extra={"error": str(failure)})
        raise failure
    return result
