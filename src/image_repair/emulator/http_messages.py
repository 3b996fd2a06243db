"""HTTP requests and responses as the emulator's transports hand them over (``responses``
in-process, the threaded server), independent of any service. Standard library only."""
import json
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional
from urllib.parse import urlsplit


@dataclass
class HttpRequest:
    method: str
    url: str  # absolute URL (the served emulator rebuilds it from the Host header)
    headers: Dict[str, str]
    body: bytes = b""

    def header(self, name: str) -> Optional[str]:
        """A header's value, its name matched case-insensitively (None when absent)."""
        return header(self.headers, name)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    @property
    def hostname(self) -> str:
        """The host the client addressed, lower case, without port."""
        return (urlsplit(self.url).hostname or "").lower()


@dataclass
class HttpResponse:
    status: int
    body: bytes
    headers: Dict[str, str] = field(default_factory=dict)
    drop: bool = False  # the response is lost: close the connection without answering
    # "hold": answer nothing until the client hangs up (its own timeout), then run ``after`` if
    # given (a write the service applies only once its caller gave up). Only a served transport
    # can hold; ``responses`` in-process cannot (see testing.mock_services).
    hold: bool = False
    after: Optional[Callable[[], None]] = None


def header(headers: Dict[str, str], name: str) -> Optional[str]:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def json_response(status: int, payload: dict, headers: Optional[Dict[str, str]] = None) -> HttpResponse:
    return HttpResponse(status, json.dumps(payload).encode("utf-8"),
                        dict({"Content-Type": "application/json;charset=utf-8"}, **(headers or {})))
