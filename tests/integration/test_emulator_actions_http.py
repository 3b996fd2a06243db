"""Every action test of tests/unit/test_emulator_actions.py again, with the real SDK talking
to the emulator served over HTTP on 127.0.0.1 instead of mock_ecs."""
import contextlib

import pytest

from image_repair.emulator import LatencyModel, build_backend
from image_repair.emulator.server import EmulatorServer
from image_repair.testing import ecs_client
from tests.unit.test_emulator_actions import *  # noqa: F401,F403 - the same tests, collected here


@pytest.fixture
def make():
    stack = contextlib.ExitStack()

    def factory(latency="immediate"):
        backend = build_backend(latency=LatencyModel.named(latency))
        server = stack.enter_context(EmulatorServer(backend))
        return backend, ecs_client(backend, server.endpoint)
    yield factory
    stack.close()
