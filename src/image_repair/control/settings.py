"""The control plane's configuration: one typed ``Settings`` object, read from the environment
once per process at its entry point and passed down (never a global built at import time).

* Function Compute: ``handlers.fc.function_settings()`` on a container's first invocation;
* the CLI: ``cli.main`` once per command (``args.settings``).

Every variable is one field, named by its alias; docs/deploying.md ("Environment variables")
lists them all with their type and bound. A bad value is one ``SettingsError`` naming the
variable (the FC handlers answer it as ``InvalidConfiguration``, the CLI exits 2). An empty
value counts as unset, as it always has here (an s.yaml variable left empty). Function Compute
allows 4 KB of variables per function in all; the bounds below are each value's own.

What is read elsewhere, on purpose:
* credentials: ``cloud_config.py`` only (the SDKs' ``alibabacloud_credentials`` chain, which
  starts with ``ALIBABA_CLOUD_ACCESS_KEY_ID``/``_SECRET``/``_SECURITY_TOKEN``);
* the store's variables (``IMAGE_REPAIR_STORE``, ``TABLESTORE_ENDPOINT``...): parsed by
  ``store/settings.py``'s own parser over this object's snapshot (``store_settings``);
* the agent (stdlib, on the repair host) keeps its own few reads;
* ``logs.py`` scans credential-named variables to mask their values in log lines (redaction,
  not configuration).

Why not pydantic-settings: it is one more dependency (not installed here) on the functions' cold
path for what 20 lines do here, and pydantic itself is already loaded by the models. Cost on a
container's first invocation, measured with pydantic loaded: importing this module ~12 ms (it was
~50 ms with length-bounded regex repeats, hence max_length beside plain patterns), reading the
environment ~0.2 ms."""
import json
import os
import re
from typing import Any, Dict, Literal, Mapping, Optional

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from .cloud_errors import CloudError
from .store.settings import store_settings_from_env

MAX_JSON_CHARS = 64 * 1024             # a defaults or policy object is under 2 KB
# Variables whose value is a credential: never copied into the store's snapshot (cloud_config
# reads them, through the SDKs' chain, and nothing else does).
CREDENTIAL_NAME = re.compile(r"secret|token|passw(or)?d|access_?key|credential", re.IGNORECASE)

# Shapes, with their lengths bounded by max_length (a bounded repeat in a pattern costs the
# regex engine far more to compile: this module is on the functions' cold path).
NAME = dict(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=128)          # a flow or function name
ENDPOINT = dict(pattern=r"^(https?://)?[A-Za-z0-9.-]+(:[0-9]+)?/?$", max_length=300)   # host[:port] or a URL
REGION = dict(pattern=r"^[a-z0-9-]+$", max_length=64)
URL = dict(pattern=r"^\S+$", max_length=2048)                                  # a package source, no spaces


class SettingsError(ValueError):
    """A configuration variable with a bad value: ``VARIABLE: what is wrong`` (one line)."""

    def __init__(self, variable: str, problem: str):
        super().__init__("%s: %s" % (variable, " ".join(problem.split())))
        self.variable = variable


class Settings(BaseModel):
    """The environment's configuration, typed and bounded (field alias = variable name)."""
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    # Set by Function Compute in every function's environment
    function_region: Optional[str] = Field(None, alias="FC_REGION", **REGION)
    account_id: Optional[str] = Field(None, alias="FC_ACCOUNT_ID", pattern=r"^[0-9]+$", max_length=32)
    function_name: Optional[str] = Field(None, alias="FC_FUNCTION_NAME", max_length=128)
    # Where the clients go
    region_id: Optional[str] = Field(None, alias="ALIBABA_CLOUD_REGION_ID", **REGION)
    ecs_endpoint: Optional[str] = Field(None, alias="IMAGE_REPAIR_ECS_ENDPOINT", **ENDPOINT)
    fnf_endpoint: Optional[str] = Field(None, alias="IMAGE_REPAIR_FNF_ENDPOINT", **ENDPOINT)
    fc_endpoint: Optional[str] = Field(None, alias="IMAGE_REPAIR_FC_ENDPOINT", **ENDPOINT)
    flow_name: Optional[str] = Field(None, alias="IMAGE_REPAIR_FLOW_NAME", **NAME)
    # How repairs are started and cleaned up
    fanout: Literal["cloudflow", "fc-async"] = Field("cloudflow", alias="IMAGE_REPAIR_FANOUT")
    start_function: Optional[str] = Field(None, alias="IMAGE_REPAIR_START_FUNCTION", **NAME)
    janitor_ttl_hours: Optional[float] = Field(None, alias="IMAGE_REPAIR_JANITOR_TTL_HOURS", ge=1, le=24 * 365,
                                               allow_inf_nan=False)
    sweep_defaults: Optional[Dict[str, Any]] = Field(None, alias="IMAGE_REPAIR_SWEEP_DEFAULTS")
    event_defaults: Optional[Dict[str, Any]] = Field(None, alias="IMAGE_REPAIR_EVENT_DEFAULTS")
    event_policy: Optional[Dict[str, Any]] = Field(None, alias="IMAGE_REPAIR_EVENT_POLICY")
    # What the agent is given (package sources)
    mirror_url: Optional[str] = Field(None, alias="IMAGE_REPAIR_MIRROR_URL", **URL)
    assist_package_url: Optional[str] = Field(None, alias="IMAGE_REPAIR_ASSIST_PACKAGE_URL", **URL)
    aegis_package_url: Optional[str] = Field(None, alias="IMAGE_REPAIR_AEGIS_PACKAGE_URL", **URL)
    # Logs and the CLI
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field("INFO", alias="IMAGE_REPAIR_LOG_LEVEL")
    debug: bool = Field(False, alias="IMAGE_REPAIR_DEBUG")
    # The store's variables, for store/settings.py's parser (credentials left out: see above)
    store_variables: Dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)

    _store = PrivateAttr(default=None)

    @field_validator("sweep_defaults", "event_defaults", "event_policy", mode="before")
    @classmethod
    def _json_object(cls, value):
        if not isinstance(value, str):
            return value
        if len(value) > MAX_JSON_CHARS:
            raise ValueError("%d characters, at most %d" % (len(value), MAX_JSON_CHARS))
        try:
            value = json.loads(value)
        except ValueError as error:
            raise ValueError("not JSON (%s)" % error)
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object, not %s" % type(value).__name__)
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value):
        return value.strip().upper() if isinstance(value, str) else value

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Settings":
        """Read and check every variable now (``env``: os.environ by default); SettingsError
        names the first bad one."""
        env = os.environ if env is None else env
        aliases = {field.alias for field in cls.model_fields.values() if field.alias}
        given = {name: value for name, value in env.items() if name in aliases and value.strip()}
        store = {name: value for name, value in env.items() if not CREDENTIAL_NAME.search(name)}
        try:
            return cls.model_validate(dict(given, store_variables=store))
        except ValidationError as error:
            problem = error.errors()[0]
            variable = str(problem["loc"][0]) if problem["loc"] else "configuration"
            message = problem["msg"].replace("Value error, ", "")
            raise SettingsError(variable, "%s (got %s)" % (message, _preview(given.get(variable))))

    # ---- what the values mean -----------------------------------------------------------------
    def region(self, default: Optional[str] = None) -> str:
        """The cloud region: FC_REGION (set by Function Compute), ALIBABA_CLOUD_REGION_ID, ``default``."""
        region = self.function_region or self.region_id or default
        if not region:
            raise CloudError("MissingConfiguration", "no region: set ALIBABA_CLOUD_REGION_ID (Function Compute sets "
                             "FC_REGION) or give the region explicitly")
        return region

    def agent_options(self) -> dict:
        """What the agent needs beyond the items: its package sources (the same for FC and local runs)."""
        return {"mirrorUrl": self.mirror_url, "assistPackageUrl": self.assist_package_url,
                "aegisPackageUrl": self.aegis_package_url}

    def repair_defaults_for_events(self) -> dict:
        """Start parameters events do not carry: IMAGE_REPAIR_EVENT_DEFAULTS, else the sweep's."""
        return dict(self.event_defaults if self.event_defaults is not None else self.sweep_defaults or {})

    def store_settings(self):
        """The store's settings, parsed once by store/settings.py from this object's snapshot
        (its errors name IMAGE_REPAIR_STORE or the variable at fault)."""
        if self._store is None:
            self._store = store_settings_from_env(self.store_variables)
        return self._store


def _preview(value: Optional[str], limit: int = 40) -> str:
    if value is None:
        return "nothing"
    return repr(value if len(value) <= limit else value[:limit] + "...")
