"""Which store to use, read from the environment when asked (never at import time).

    IMAGE_REPAIR_STORE=sqlite:///var/lib/image-repair/state.db    (the path is what follows "sqlite://")
    IMAGE_REPAIR_STORE=tablestore://<instance>/<table>

Unset: SQLite at ``$XDG_STATE_HOME/image-repair/state.db`` (``~/.local/state/...``).
Tablestore's endpoint is ``TABLESTORE_ENDPOINT`` or, by default, the instance's VPC endpoint in
``FC_REGION`` (``https://<instance>.<region>.vpc.tablestore.aliyuncs.com``, what a function in a
VPC reaches); credentials are Function Compute's: ``ALIBABA_CLOUD_ACCESS_KEY_ID``,
``ALIBABA_CLOUD_ACCESS_KEY_SECRET`` and ``ALIBABA_CLOUD_SECURITY_TOKEN`` (STS, optional).
"""
import os
from typing import Callable, Literal, Mapping, Optional

from pydantic import BaseModel

from .base import StateStore
from .models import StoreConfigError


class StoreSettings(BaseModel):
    backend: Literal["sqlite", "tablestore"]
    sqlite_path: Optional[str] = None
    instance: Optional[str] = None
    table: Optional[str] = None
    endpoint: Optional[str] = None
    access_key_id: Optional[str] = None
    access_key_secret: Optional[str] = None
    security_token: Optional[str] = None


def default_sqlite_path(env: Mapping[str, str]) -> str:
    base = env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "image-repair", "state.db")


def store_settings_from_env(env: Optional[Mapping[str, str]] = None) -> StoreSettings:
    env = os.environ if env is None else env
    url = env.get("IMAGE_REPAIR_STORE", "").strip()
    if not url:
        return StoreSettings(backend="sqlite", sqlite_path=default_sqlite_path(env))
    if url.startswith("sqlite://"):
        path = url[len("sqlite://"):]
        if not path or path.endswith("/"):
            raise StoreConfigError("IMAGE_REPAIR_STORE=%s: expected sqlite:///path/to/file.db" % url)
        return StoreSettings(backend="sqlite", sqlite_path=path)
    if url.startswith("tablestore://"):
        parts = url[len("tablestore://"):].split("/")
        if len(parts) != 2 or not all(parts):
            raise StoreConfigError("IMAGE_REPAIR_STORE=%s: expected tablestore://<instance>/<table>" % url)
        instance, table = parts
        endpoint = env.get("TABLESTORE_ENDPOINT")
        if not endpoint:
            region = env.get("FC_REGION")
            if not region:
                raise StoreConfigError("Tablestore needs TABLESTORE_ENDPOINT or FC_REGION to find instance %s" % instance)
            endpoint = "https://%s.%s.vpc.tablestore.aliyuncs.com" % (instance, region)
        from ..cloud_config import keys_from_env, resolved_keys
        from ..cloud_errors import CloudError
        try:   # the SDKs' credential chain (cloud_config.py): the environment's keys first
            keys = resolved_keys(keys_from_env(env))
        except CloudError as error:
            raise StoreConfigError("Tablestore needs credentials: %s" % error)
        return StoreSettings(backend="tablestore", instance=instance, table=table, endpoint=endpoint,
                             access_key_id=keys.access_key_id, access_key_secret=keys.access_key_secret,
                             security_token=keys.security_token)
    raise StoreConfigError("IMAGE_REPAIR_STORE=%s: expected sqlite:///path or tablestore://instance/table" % url)


def open_store(settings: Optional[StoreSettings] = None, clock: Optional[Callable[[], float]] = None,
               ots_client=None) -> StateStore:
    """Build the configured store. ``ots_client`` replaces the OTSClient built from the settings
    (it must not retry by itself: ``store.tablestore.make_ots_client``)."""
    settings = store_settings_from_env() if settings is None else settings
    extra = {} if clock is None else {"clock": clock}
    if settings.backend == "sqlite":
        from .sqlite import SQLiteStore
        return SQLiteStore(settings.sqlite_path, **extra)
    from .tablestore import TablestoreStore, make_ots_client
    if ots_client is None:
        ots_client = make_ots_client(settings.endpoint, settings.access_key_id, settings.access_key_secret,
                                     settings.instance, security_token=settings.security_token)
    return TablestoreStore(ots_client, settings.table, **extra)
