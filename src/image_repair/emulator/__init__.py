"""A moto-style emulator of the ECS OpenAPI (issue 4): ``EcsBackend`` (state, virtual clock,
faults, call log), the wire layer (V3 ACS3-HMAC-SHA256 and RPC HMAC-SHA1 requests), the
in-process ``image_repair.testing.mock_ecs()`` and ``image-repair emulator serve``.
See docs/emulator.md."""
from .backend import EcsBackend
from .clock import LatencyModel, VirtualClock
from .errors import ApiError
from .seed import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, DEFAULT_SEED, build_backend

__all__ = ["EcsBackend", "LatencyModel", "VirtualClock", "ApiError", "build_backend", "DEFAULT_SEED",
           "DEFAULT_ACCESS_KEY_ID", "DEFAULT_ACCESS_KEY_SECRET"]
