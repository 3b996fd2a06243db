"""Reading an EventBridge delivery within bounds: one value (or a reason) per event.

A delivery is one CloudEvent, an array of them (batched push), or RawData (an event's ``data``
only: an object, or that object as JSON text, JSON-encoded twice, or base64 of JSON), as bytes,
text or already-parsed values. ``split_delivery`` never raises: over a bound, unreadable, or not
an object, an event comes out as a reason; a top-level array is split before anything is parsed,
so a bad element never stops the others (``bounded.scan``).
"""
import base64
import binascii
import logging
from typing import Any, List, Optional, Tuple

from . import bounded
from .bounded import TooBig

log = logging.getLogger(__name__)

# An ActionTrail event is a few KB and nests about 5 deep (docs/events.md "Bounds").
MAX_DELIVERY_CHARS = 1 << 20        # a whole delivery (a batch included)
MAX_EVENT_CHARS = 256 << 10         # one event
MAX_EVENT_DEPTH = 32                # nesting levels of one event
MAX_EVENT_VALUES = 20000            # containers and scalars of one event given as Python values
MAX_ENCODINGS = 3                   # a JSON string (or base64) inside a JSON string...


def split_delivery(payload: Any) -> List[Tuple[Optional[dict], Optional[str]]]:
    """-> [(event object, None) or (None, why it is unusable)], one per event of the delivery.
    Never raises: whatever the payload, each event comes out as an object or a reason."""
    try:
        values = _delivery_values(payload)
    except Exception as error:      # a defect must not make EventBridge redeliver forever
        log.exception("events.unreadable")
        return [(None, "the delivery could not be read (%s)" % type(error).__name__)]
    return [(value, None) if isinstance(value, dict) else
            (None, reason or "an event must be a JSON object, not %s" % type(value).__name__)
            for value, reason in values]


def _delivery_values(payload: Any) -> List[Tuple[Any, Optional[str]]]:
    if isinstance(payload, (bytes, bytearray)):
        if len(payload) > MAX_DELIVERY_CHARS:
            return [(None, "the delivery is %d bytes (at most %d)" % (len(payload), MAX_DELIVERY_CHARS))]
        try:
            payload = bytes(payload).decode("utf-8")
        except UnicodeDecodeError:
            return [(None, "the delivery is not UTF-8 text")]
    if isinstance(payload, str):
        if len(payload) > MAX_DELIVERY_CHARS:
            return [(None, "the delivery is %d characters (at most %d)" % (len(payload), MAX_DELIVERY_CHARS))]
        return _read_text(payload, MAX_ENCODINGS, top=True)
    if isinstance(payload, list):          # already parsed (the local runner, tests)
        if not payload:
            return [(None, "the delivery is an empty array")]
        return [_python_value(value) for value in payload]
    return [_python_value(payload)]


def _python_value(value: Any) -> Tuple[Any, Optional[str]]:
    if isinstance(value, str):
        found = _read_text(value, MAX_ENCODINGS, top=False)
        return found[0]
    try:
        bounded.measure(value, MAX_EVENT_DEPTH, MAX_EVENT_VALUES, MAX_EVENT_CHARS, "the event")
    except TooBig as error:
        return None, str(error)
    return value, None


def _read_text(text: str, encodings: int, top: bool) -> List[Tuple[Any, Optional[str]]]:
    """A delivery's (``top``) or an event's text -> its values, each judged within the bounds.
    A top-level array is split first, so each element is parsed (or refused) on its own."""
    text = text.strip()
    if not text:
        return [(None, "the delivery is empty" if top else "an empty event")]
    scanned = bounded.scan(text)
    if scanned.is_array and scanned.balanced:
        if not top:
            return [(None, "an event must be a JSON object, not list")]
        if not scanned.elements:
            return [(None, "the delivery is an empty array")]
        return [_read_element(text[e.start:e.end], e.depth, encodings) for e in scanned.elements]
    try:
        if len(text) > MAX_EVENT_CHARS:
            raise TooBig("an event of %d characters (at most %d)" % (len(text), MAX_EVENT_CHARS))
        value = bounded.loads(text, MAX_EVENT_DEPTH, "the event")
    except TooBig as error:
        return [(None, str(error))]
    except ValueError as error:
        decoded = _base64_text(text) if encodings else None
        if decoded is None:
            return [(None, "malformed JSON (and not base64 of JSON): %s" % error)]
        return _read_text(decoded, encodings - 1, top)
    if isinstance(value, str):     # RawData of a string field arrives JSON-encoded twice
        if not encodings:
            return [(None, "a JSON string encoded more than %d times" % MAX_ENCODINGS)]
        return _read_text(value, encodings - 1, top)
    return [(value, None)]


def _read_element(text: str, depth: int, encodings: int) -> Tuple[Any, Optional[str]]:
    if depth > MAX_EVENT_DEPTH:
        return None, "an event nested deeper than %d levels" % MAX_EVENT_DEPTH
    found = _read_text(text, encodings, top=False)
    return found[0] if found else (None, "an empty event")


def _base64_text(text: str) -> Optional[str]:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


__all__ = ["MAX_DELIVERY_CHARS", "MAX_EVENT_CHARS", "MAX_EVENT_DEPTH", "split_delivery"]
