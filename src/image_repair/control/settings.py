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

Why not pydantic (or pydantic-settings): this is on every function's first invocation, and
building pydantic models was most of that cold start (records.py, docs/bench.md section 3); the
fields are checked by ``records.Fields`` with pydantic's wording. Lengths are bounded by
max_length beside plain patterns (a bounded repeat in a pattern costs the regex engine far more
to compile)."""
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional

from .cloud_errors import CloudError
from .records import Fields, Invalid, Record
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


FANOUTS = ("cloudflow", "fc-async")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
JANITOR_TTL_HOURS = (1, 24 * 365)     # IMAGE_REPAIR_JANITOR_TTL_HOURS's bounds (the janitor's payload's)

# Every field's variable (the field's alias): docs/deploying.md's table lists them all.
VARIABLES = {
    "function_region": "FC_REGION", "account_id": "FC_ACCOUNT_ID", "function_name": "FC_FUNCTION_NAME",
    "region_id": "ALIBABA_CLOUD_REGION_ID", "ecs_endpoint": "IMAGE_REPAIR_ECS_ENDPOINT",
    "fnf_endpoint": "IMAGE_REPAIR_FNF_ENDPOINT", "fc_endpoint": "IMAGE_REPAIR_FC_ENDPOINT",
    "flow_name": "IMAGE_REPAIR_FLOW_NAME", "fanout": "IMAGE_REPAIR_FANOUT",
    "start_function": "IMAGE_REPAIR_START_FUNCTION", "janitor_ttl_hours": "IMAGE_REPAIR_JANITOR_TTL_HOURS",
    "sweep_defaults": "IMAGE_REPAIR_SWEEP_DEFAULTS", "event_defaults": "IMAGE_REPAIR_EVENT_DEFAULTS",
    "event_policy": "IMAGE_REPAIR_EVENT_POLICY", "mirror_url": "IMAGE_REPAIR_MIRROR_URL",
    "assist_package_url": "IMAGE_REPAIR_ASSIST_PACKAGE_URL", "aegis_package_url": "IMAGE_REPAIR_AEGIS_PACKAGE_URL",
    "log_level": "IMAGE_REPAIR_LOG_LEVEL", "debug": "IMAGE_REPAIR_DEBUG",
}


def _json_object(value: Any) -> Any:
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


@dataclass(frozen=True)
class Settings(Record):
    """The environment's configuration, typed and bounded (``VARIABLES``: each field's variable)."""
    # Set by Function Compute in every function's environment
    function_region: Optional[str] = None
    account_id: Optional[str] = None
    function_name: Optional[str] = None
    # Where the clients go
    region_id: Optional[str] = None
    ecs_endpoint: Optional[str] = None
    fnf_endpoint: Optional[str] = None
    fc_endpoint: Optional[str] = None
    flow_name: Optional[str] = None
    # How repairs are started and cleaned up
    fanout: str = "cloudflow"
    start_function: Optional[str] = None
    janitor_ttl_hours: Optional[float] = None
    sweep_defaults: Optional[Dict[str, Any]] = None
    event_defaults: Optional[Dict[str, Any]] = None
    event_policy: Optional[Dict[str, Any]] = None
    # What the agent is given (package sources)
    mirror_url: Optional[str] = None
    assist_package_url: Optional[str] = None
    aegis_package_url: Optional[str] = None
    # Logs and the CLI
    log_level: str = "INFO"
    debug: bool = False
    # The store's variables, for store/settings.py's parser (credentials left out: see above)
    store_variables: Dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    _store: Any = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def check(cls, fields: Fields) -> Dict[str, Any]:
        v = VARIABLES

        def text(name: str, **shape: Any) -> Optional[str]:
            return fields.text(v[name], None, optional=True, **shape)

        def json_object(name: str) -> Optional[dict]:
            fields.seen.add(v[name])
            value = fields.custom(v[name], _json_object, fields.raw.get(v[name]))
            if value is not None and not isinstance(value, dict):
                return fields.problem(v[name], "dict_type", "Input should be a valid dictionary", value)
            return value

        level = fields.raw.get(v["log_level"])
        if isinstance(level, str):       # case and spaces do not matter (on a copy: the input is the caller's)
            fields.raw = dict(fields.raw, **{v["log_level"]: level.strip().upper()})
        return {
            "function_region": text("function_region", **REGION),
            "account_id": text("account_id", pattern=r"^[0-9]+$", max_length=32),
            "function_name": text("function_name", max_length=128),
            "region_id": text("region_id", **REGION),
            "ecs_endpoint": text("ecs_endpoint", **ENDPOINT),
            "fnf_endpoint": text("fnf_endpoint", **ENDPOINT),
            "fc_endpoint": text("fc_endpoint", **ENDPOINT),
            "flow_name": text("flow_name", **NAME),
            "fanout": fields.choice(v["fanout"], FANOUTS, "cloudflow"),
            "start_function": text("start_function", **NAME),
            "janitor_ttl_hours": fields.number(v["janitor_ttl_hours"], None, optional=True,
                                               ge=JANITOR_TTL_HOURS[0], le=JANITOR_TTL_HOURS[1]),
            "sweep_defaults": json_object("sweep_defaults"),
            "event_defaults": json_object("event_defaults"),
            "event_policy": json_object("event_policy"),
            "mirror_url": text("mirror_url", **URL),
            "assist_package_url": text("assist_package_url", **URL),
            "aegis_package_url": text("aegis_package_url", **URL),
            "log_level": fields.choice(v["log_level"], LOG_LEVELS, "INFO"),
            "debug": fields.boolean(v["debug"], False),
            "store_variables": fields.mapping("store_variables", {}),
        }

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Settings":
        """Read and check every variable now (``env``: os.environ by default); SettingsError
        names the first bad one."""
        env = os.environ if env is None else env
        aliases = set(VARIABLES.values())
        given = {name: value for name, value in env.items() if name in aliases and value.strip()}
        store = {name: value for name, value in env.items() if not CREDENTIAL_NAME.search(name)}
        try:
            return cls.model_validate(dict(given, store_variables=store))
        except Invalid as error:
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
        if self._store is None:     # a cache on a frozen record: set once, through object's own setter
            object.__setattr__(self, "_store", store_settings_from_env(self.store_variables))
        return self._store


def _preview(value: Optional[str], limit: int = 40) -> str:
    if value is None:
        return "nothing"
    return repr(value if len(value) <= limit else value[:limit] + "...")
