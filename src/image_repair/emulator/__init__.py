"""A moto-style emulator of the ECS OpenAPI (issue 4): ``EcsBackend`` (state, typed operations,
virtual clock, transitions, faults, call log), the wire layer (V3 ACS3-HMAC-SHA256 and RPC
HMAC-SHA1 requests), a registry of emulated services by URL, the in-process
``image_repair.testing.mock_ecs()`` and ``image-repair emulator serve``. See docs/emulator.md.

The names below load on first use, so that a client importing only ``emulator.clock_http``
(``emulator_clock``) does not load the backend."""
import importlib

_EXPORTS = {
    "EcsBackend": ".backend", "LatencyModel": ".clock", "VirtualClock": ".clock", "ApiError": ".errors",
    "build_backend": ".seed", "DEFAULT_SEED": ".seed", "DEFAULT_ACCESS_KEY_ID": ".seed",
    "DEFAULT_ACCESS_KEY_SECRET": ".seed", "emulator_clock": ".clock_http", "EmulatorClockError": ".clock_http",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
