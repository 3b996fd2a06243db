"""Which store to use, read from the environment when asked (never at import time).

    IMAGE_REPAIR_STORE=sqlite:///var/lib/image-repair/state.db    (the path is what follows "sqlite://")
    IMAGE_REPAIR_STORE=tablestore://<instance>/<table>

Unset: SQLite at ``$XDG_STATE_HOME/image-repair/state.db`` (``~/.local/state/...``).
Tablestore's endpoint is ``TABLESTORE_ENDPOINT`` or, by default, the instance's VPC endpoint in
``FC_REGION`` (``https://<instance>.<region>.vpc.tablestore.aliyuncs.com``, what a function in a
VPC reaches). ``TABLESTORE_ENDPOINT`` is a Tablestore endpoint of the same instance
(``https://<instance>.<region>.ots.aliyuncs.com`` and the other network forms, always https) or
the emulator's (``http://127.0.0.1:PORT``: plain http only to a loopback address, so no key or STS
token crosses a network in clear). Credentials are the SDKs' chain (cloud_config.py): Function
Compute's ``ALIBABA_CLOUD_ACCESS_KEY_ID``, ``ALIBABA_CLOUD_ACCESS_KEY_SECRET`` and
``ALIBABA_CLOUD_SECURITY_TOKEN`` (STS, optional) first. Every value is checked here, and a bad one
is a one-line ``StoreConfigError`` naming the variable and the form expected.

``store_settings_from_env(env)`` and ``StoreSettings`` are the module's interface (the CLI's
settings delegate the store's part to them); ``open_store`` builds the store they describe.
"""
import ipaddress
import os
import re
from dataclasses import dataclass, field
from typing import Callable, Literal, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from ..cloud_config import keys_from_env, resolved_keys
from ..cloud_errors import CloudError
from .base import StateStore
from .models import StoreConfigError
from .tablestore_names import CLOUD_ENDPOINT_HOST, ENDPOINT_FORMS, instance_name_problem, table_name_problem

MAX_SETTING_CHARS = 4096        # any of the variables below
MAX_ENDPOINT_CHARS = 512
REGION_ID = re.compile(r"[a-z]{2,4}(?:-[a-z0-9]{1,20}){1,4}")     # cn-hangzhou, ap-southeast-1, cn-shanghai-finance-1
LOOPBACK_NAMES = ("localhost",)


@dataclass(frozen=True)
class StoreSettings:
    """What ``open_store`` builds (every value checked by the parser below)."""
    backend: Literal["sqlite", "tablestore"]
    sqlite_path: Optional[str] = None
    instance: Optional[str] = None
    table: Optional[str] = None
    endpoint: Optional[str] = None
    access_key_id: Optional[str] = None
    access_key_secret: Optional[str] = field(default=None, repr=False)    # never in a log line
    security_token: Optional[str] = field(default=None, repr=False)


def default_sqlite_path(env: Mapping[str, str]) -> str:
    base = env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "image-repair", "state.db")


def store_settings_from_env(env: Optional[Mapping[str, str]] = None) -> StoreSettings:
    env = os.environ if env is None else env
    url = _setting(env, "IMAGE_REPAIR_STORE")
    if not url:
        return StoreSettings(backend="sqlite", sqlite_path=default_sqlite_path(env))
    if url.startswith("sqlite://"):
        path = url[len("sqlite://"):]
        if not path or path.endswith("/"):
            raise StoreConfigError("IMAGE_REPAIR_STORE=%s: expected sqlite:///path/to/file.db" % url)
        return StoreSettings(backend="sqlite", sqlite_path=path)
    if url.startswith("tablestore://"):
        instance, table = tablestore_url(url)
        endpoint = tablestore_endpoint(env, instance)
        try:   # the SDKs' credential chain (cloud_config.py): the environment's keys first
            keys = resolved_keys(keys_from_env(env))
        except CloudError as error:
            raise StoreConfigError("Tablestore needs credentials: %s" % error)
        return StoreSettings(backend="tablestore", instance=instance, table=table, endpoint=endpoint,
                             access_key_id=keys.access_key_id, access_key_secret=keys.access_key_secret,
                             security_token=keys.security_token)
    raise StoreConfigError("IMAGE_REPAIR_STORE=%s: expected sqlite:///path or tablestore://instance/table"
                           % _shown(url))


def tablestore_url(url: str) -> Tuple[str, str]:
    """``tablestore://<instance>/<table>`` -> (instance, table), both checked by Tablestore's naming rules."""
    parts = url[len("tablestore://"):].split("/")
    if len(parts) != 2 or not all(parts):
        raise StoreConfigError("IMAGE_REPAIR_STORE=%s: expected tablestore://<instance>/<table>" % _shown(url))
    instance, table = parts
    for problem in (instance_name_problem(instance), table_name_problem(table)):
        if problem:
            raise StoreConfigError("IMAGE_REPAIR_STORE=%s: %s" % (_shown(url), problem))
    return instance, table


def tablestore_endpoint(env: Mapping[str, str], instance: str) -> str:
    """The endpoint the client is built on: ``TABLESTORE_ENDPOINT`` checked (scheme://host[:port],
    no path), else the instance's VPC endpoint in ``FC_REGION``."""
    given = _setting(env, "TABLESTORE_ENDPOINT")
    if not given:
        region = _setting(env, "FC_REGION")
        if not region:
            raise StoreConfigError("Tablestore needs TABLESTORE_ENDPOINT or FC_REGION to find instance %s" % instance)
        if not REGION_ID.fullmatch(region):
            raise StoreConfigError("FC_REGION=%s: expected a region ID such as cn-hangzhou" % _shown(region))
        return ENDPOINT_FORMS["vpc"] % (instance, region)
    where = "TABLESTORE_ENDPOINT=%s" % _shown(given)
    if len(given) > MAX_ENDPOINT_CHARS:
        raise StoreConfigError("%s: longer than %d characters" % (where, MAX_ENDPOINT_CHARS))
    try:
        parts = urlsplit(given)
        port = parts.port
    except ValueError as error:
        raise StoreConfigError("%s: not a URL (%s)" % (where, error))
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host or parts.username is not None or parts.password is not None:
        raise StoreConfigError("%s: expected https://<instance>.<region>.ots.aliyuncs.com or, for the emulator, "
                               "http://127.0.0.1:PORT" % where)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise StoreConfigError("%s: an endpoint has no path, query or fragment (the SDK adds /<Operation>)" % where)
    if parts.scheme == "http" and not _is_loopback(host):
        raise StoreConfigError("%s: plain http only to a loopback address (the emulator); Tablestore's "
                               "endpoints are https" % where)
    cloud = CLOUD_ENDPOINT_HOST.fullmatch(host)
    if cloud and cloud.group("instance") != instance.lower():
        raise StoreConfigError("%s: the endpoint is instance %s's, but IMAGE_REPAIR_STORE names instance %s"
                               % (where, cloud.group("instance"), instance))
    netloc = host if port is None else "%s:%d" % ("[%s]" % host if ":" in host else host, port)
    return "%s://%s" % (parts.scheme, netloc)


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _setting(env: Mapping[str, str], name: str) -> str:
    """A variable's value, stripped; refused when too long or holding control characters."""
    value = (env.get(name) or "").strip()
    if len(value) > MAX_SETTING_CHARS:
        raise StoreConfigError("%s: longer than %d characters" % (name, MAX_SETTING_CHARS))
    if any(ord(c) < 0x20 or ord(c) == 0x7f for c in value):
        raise StoreConfigError("%s=%s: control characters are not allowed" % (name, _shown(value)))
    return value


def _shown(value: str) -> str:
    """A value as an error message shows it: one line, at most 200 characters."""
    text = value.encode("unicode_escape").decode("ascii")
    return text if len(text) <= 200 else text[:197] + "..."


def open_store(settings: Optional[StoreSettings] = None, clock: Optional[Callable[[], float]] = None,
               ots_client=None) -> StateStore:
    """Build the configured store. ``ots_client`` replaces the OTSClient built from the settings
    (it must not retry by itself: ``store.tablestore.make_ots_client``)."""
    settings = store_settings_from_env() if settings is None else settings
    extra = {} if clock is None else {"clock": clock}
    if settings.backend == "sqlite":
        from .sqlite import SQLiteStore     # lazy: sqlite3, only for the embedded store
        return SQLiteStore(settings.sqlite_path, **extra)
    from .tablestore import TablestoreStore, make_ots_client   # lazy: the Tablestore SDK (~50 ms), only for it
    if ots_client is None:
        ots_client = make_ots_client(settings.endpoint, settings.access_key_id, settings.access_key_secret,
                                     settings.instance, security_token=settings.security_token)
    return TablestoreStore(ots_client, settings.table, **extra)
