"""growpart: the growpart tool installed (per-family package) and cloud-init's growpart/resizefs active."""

import pytest

from image_repair.agent.errors import AgentError
from image_repair.agent.items import growpart


def test_add_modules_to_cloud_cfg():
    text = "users: [default]\ncloud_init_modules:\n  - migrator\n  - bootcmd\ncloud_config_modules:\n  - ssh\n"
    assert growpart.add_modules_text(text, ["growpart", "resizefs"]) == (
        "users: [default]\ncloud_init_modules:\n  - growpart\n  - resizefs\n  - migrator\n  - bootcmd\n"
        "cloud_config_modules:\n  - ssh\n")
    with pytest.raises(AgentError, match="not a block list"):
        growpart.add_modules_text("cloud_init_modules: [migrator]\n", ["growpart"])
