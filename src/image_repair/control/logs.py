"""Structured logs: one JSON object per line, the shape Simple Log Service indexes field by field.

Every module logs the same way (stdlib only, no custom API)::

    log = logging.getLogger(__name__)
    log.info("sweep.image_selected", extra={"execution_id": ..., "step": ..., "image_id": ...})

and :class:`JsonFormatter` writes::

    {"time": "2026-11-25T21:40:00.123Z", "level": "INFO", "event": "sweep.image_selected",
     "logger": "image_repair.control.triggers.sweep", "execution_id": "...", "step": null, "image_id": "..."}

No credential is ever written: fields whose name looks like a credential (secret, token, password,
AccessKey..., Authorization, Signature) are replaced, AccessKey ids (``LTAI...``) are masked
wherever they appear, and so are the values of the function's own credential variables
(``ALIBABA_CLOUD_ACCESS_KEY_SECRET``...), even inside messages and tracebacks.

Function Compute sends a function's stdout/stderr to its Logstore: :func:`configure_logging`
writes to stderr. The FC entry points call :func:`configure_for_function` with the function's
settings (control/settings.py: ``IMAGE_REPAIR_LOG_LEVEL``; nothing is configured at import time),
which does nothing outside Function Compute so that tests and the CLI keep stdlib logging as it is.
"""
import datetime
import json
import logging
import os
import re
import sys
import threading
from typing import Any, Iterable, List, Optional, TextIO

REDACTED = "[REDACTED]"
# Field names that hold credentials (matched case-insensitively anywhere in the name).
SECRET_NAME = re.compile(r"secret|token|passw(or)?d|access_?key|authorization|signature|credential",
                         re.IGNORECASE)
# AccessKey ids: "LTAI" and 12-30 letters/digits (STS ids "STS." are short-lived but masked too).
ACCESS_KEY_ID = re.compile(r"\b(LTAI|STS\.)[A-Za-z0-9]{8,}")
MIN_SECRET_LENGTH = 8       # shorter environment values are not worth masking (and would mask words)
LOGGER_NAME = "image_repair"

# The attributes every LogRecord has: anything else on a record came from ``extra``.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "taskName"}
_configure_lock = threading.Lock()
_configured_handler: Optional[logging.Handler] = None


def _environment_secrets() -> List[str]:
    """Values of credential-named environment variables (FC puts the role's STS keys there), read
    at each record: redaction, not configuration (settings.py does not hold credentials)."""
    return sorted((value for name, value in os.environ.items()
                   if SECRET_NAME.search(name) and len(value) >= MIN_SECRET_LENGTH),
                  key=len, reverse=True)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return ACCESS_KEY_ID.sub(lambda m: m.group(1) + "***", text)


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of ``value`` (JSON-like) with credentials replaced; other objects become strings."""
    secrets = list(secrets)
    if isinstance(value, dict):
        return {str(k): REDACTED if SECRET_NAME.search(str(k)) else redact(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact(v, secrets) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return redact_text(value if isinstance(value, str) else str(value), secrets)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, event (the message), logger, execution_id, step,
    every ``extra`` field, ``message`` when %-arguments were given, ``exception`` as text."""

    def format(self, record: logging.LogRecord) -> str:
        secrets = _environment_secrets()
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
                    .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "event": record.msg if isinstance(record.msg, str) else repr(record.msg),
            "logger": record.name,
            "execution_id": getattr(record, "execution_id", None),
            "step": getattr(record, "step", None),
        }
        if record.args:
            entry["message"] = record.getMessage()
        for name, value in record.__dict__.items():
            if name not in _RECORD_ATTRIBUTES and name not in entry:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(redact(entry, secrets), ensure_ascii=False, sort_keys=False)


def configure_logging(level: str = "INFO", stream: Optional[TextIO] = None) -> logging.Logger:
    """Send the ``image_repair`` loggers' records as JSON lines to ``stream`` (stderr).

    Idempotent: a second call replaces the handler rather than adding one. The project's records
    stop propagating to the root logger, whose handler (the FC runtime's own) would print each
    record a second time in its own format. ``level``: a name (INFO, DEBUG...); an unknown name
    is an error, not silently INFO."""
    global _configured_handler
    name = str(level).upper()
    numeric = logging.getLevelName(name)
    if not isinstance(numeric, int):
        raise ValueError("log level %s: expected DEBUG, INFO, WARNING, ERROR or CRITICAL" % name)
    logger = logging.getLogger(LOGGER_NAME)
    with _configure_lock:
        handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
        handler.setFormatter(JsonFormatter())
        if _configured_handler is not None:
            logger.removeHandler(_configured_handler)
        logger.addHandler(handler)
        _configured_handler = handler
        logger.setLevel(numeric)
        logger.propagate = False
    return logger


def configure_for_function(settings) -> None:
    """Once per Function Compute container (FC sets ``FC_FUNCTION_NAME``): JSON lines at the
    settings' ``IMAGE_REPAIR_LOG_LEVEL``; elsewhere a no-op."""
    if _configured_handler is None and settings.function_name:
        configure_logging(settings.log_level)


def reset_logging() -> None:
    """Undo :func:`configure_logging` (tests)."""
    global _configured_handler
    logger = logging.getLogger(LOGGER_NAME)
    with _configure_lock:
        if _configured_handler is not None:
            logger.removeHandler(_configured_handler)
            _configured_handler = None
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
