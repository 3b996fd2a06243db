"""The one place that says where the Alibaba Cloud SDK clients get their credentials, region and
endpoint (ECS, CloudFlow, Function Compute 3.0, Tablestore). Below both the adapters (clients/) and
the store, which each build SDK clients from it.

Credentials: ``alibabacloud_credentials``' default chain, the SDKs' own: environment variables
(``ALIBABA_CLOUD_ACCESS_KEY_ID``/``_SECRET``/``_SECURITY_TOKEN``: what Function Compute sets from
the function's role), OIDC, the CLI and credentials-file profiles, the ECS RAM role, a credentials
URI. The chain's first step is read here at call time rather than by the chain itself, because the
package reads those variables once, when it is imported (``alibabacloud_credentials/utils/
auth_util.py``): a process that sets them later (a test, a CLI pointing at the emulator) would be
ignored. Emulators pass their own keys explicitly (``StaticKeys``).

Region: the settings' (settings.py: FC_REGION, set by Function Compute, then
ALIBABA_CLOUD_REGION_ID, else a clear error). Endpoint: the SDK's own endpoint rules for the region (``ecs-cn-hangzhou.aliyuncs.com`` for
cn-hangzhou, ``ecs.<region>.aliyuncs.com`` elsewhere...), unless one is given (an emulator).
"""
import logging
import os
from dataclasses import dataclass
from typing import Mapping, Optional

from .cloud_errors import CloudError


@dataclass(frozen=True)
class StaticKeys:
    access_key_id: str
    access_key_secret: str
    security_token: Optional[str] = None


def keys_from_env(env: Mapping[str, str] = os.environ) -> Optional[StaticKeys]:
    """The environment's keys, read now (None when they are not set)."""
    key_id, secret = env.get("ALIBABA_CLOUD_ACCESS_KEY_ID"), env.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
    if key_id and secret:
        return StaticKeys(key_id, secret, env.get("ALIBABA_CLOUD_SECURITY_TOKEN") or None)
    return None


def credential_client(keys: Optional[StaticKeys] = None):
    """An ``alibabacloud_credentials`` client: these keys, the environment's, or the default chain."""
    # lazy: the credentials SDK, only when a client is built (settings and refusals need none)
    from alibabacloud_credentials.client import Client
    from alibabacloud_credentials.models import Config
    keys = keys or keys_from_env()
    if keys is None:
        return Client()                   # the default chain: profiles, OIDC, ECS RAM role...
    if keys.security_token:
        return Client(Config(type="sts", access_key_id=keys.access_key_id, access_key_secret=keys.access_key_secret,
                             security_token=keys.security_token))
    return Client(Config(type="access_key", access_key_id=keys.access_key_id,
                         access_key_secret=keys.access_key_secret))


def resolved_keys(keys: Optional[StaticKeys] = None) -> StaticKeys:
    """The keys the chain resolves to now (for a client that takes keys, not a provider: Tablestore)."""
    # lazy: the credentials SDK, only when a client is built; its import sets the logger's level: first
    import alibabacloud_credentials.client  # noqa: F401
    # The package logs each failed provider with a traceback on its own handler ("credentials");
    # the one error below already lists what was tried.
    chatty = logging.getLogger("credentials")
    level, chatty.level = chatty.level, logging.CRITICAL
    try:
        credential = credential_client(keys).get_credential()
    except Exception as error:    # the chain's own CredentialException lists what it tried
        raise CloudError("MissingCredentials", "no Alibaba Cloud credentials: %s" % str(error)[:500])
    finally:
        chatty.level = level
    return StaticKeys(credential.access_key_id, credential.access_key_secret, credential.security_token or None)


def sdk_config(region: str, endpoint: Optional[str] = None, keys: Optional[StaticKeys] = None,
               read_timeout_ms: int = 15000, connect_timeout_ms: int = 5000):
    """A Tea OpenAPI ``Config``: the credential chain, the region, and an endpoint only when one is
    given (``host:port`` of an emulator, spoken over plain HTTP); else the SDK's endpoint rules."""
    from alibabacloud_tea_openapi.models import Config    # lazy: the Tea SDK, only when a client is built
    config = Config(credential=credential_client(keys), region_id=region, read_timeout=read_timeout_ms,
                    connect_timeout=connect_timeout_ms)
    if endpoint:
        config.endpoint = endpoint
        config.protocol = "HTTP" if _is_local(endpoint) else "HTTPS"
    return config


def _is_local(endpoint: str) -> bool:
    host = endpoint.split(":")[0]
    return host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")
