"""Issue 12: what a Function Compute step's first event loads, in a fresh interpreter.

pydantic is not among it (its import and model builds were most of the cold start above the SDK
import, docs/bench.md section 3). The Tablestore SDK's search, time-series and SQL code is, and
must be while we use the SDK's own protocol code: its encoder and decoder import it at module
level (pinned below, so an SDK that stops doing so is noticed and the lighter path revisited)."""
import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from image_repair.control.steps import FUNCTIONS

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "image_repair"
STEP_HANDLERS = sorted(p.stem for p in (PACKAGE / "control" / "handlers").glob("*.py")
                       if p.stem in set(FUNCTIONS.values()))

# What bench/coldstart.py's first event does, then a real invocation with a bad event (answered
# before any port is built), then the stored execution read back as steps/common.load does.
CHILD = r'''
import importlib, json, sys
from image_repair.control.handlers.fc import ports_from_env
from image_repair.control.steps.runner import HandlerError
handler = importlib.import_module("image_repair.control.handlers." + sys.argv[1]).handler
ports = ports_from_env()
importlib.import_module("image_repair.control.steps." + sys.argv[1])
try:
    handler(b'{"executionId": ""}')
except HandlerError as error:
    assert error.code == "InvalidInput", error
from image_repair.control.models import RepairRequest
from image_repair.control.store import Execution
execution = Execution.model_validate(json.loads(sys.argv[2]))
RepairRequest.model_validate(execution.params)
print(json.dumps(sorted(sys.modules)))
'''

STORED = {"execution_id": "repair-m-bp1test0000000001-0123456789ab", "source_image_id": "m-bp1test0000000001",
          "params": {"regionId": "cn-hangzhou", "zoneId": "cn-hangzhou-h", "repairImageId": "m-bp1test0000000001",
                     "instanceType": "ecs.g7.large", "securityGroupId": "sg-bp1test000000000000",
                     "vSwitchId": "vsw-bp1test00000000000", "repairItems": ["virtio"], "watch": True,
                     "policy": {"items": None, "riskLevels": ["High"]}},
          "created_at_ms": 1, "updated_at_ms": 1, "status": "RUNNING", "steps": {}}


def fc_environment(tmp_path) -> dict:
    """A function's environment: the deployed Tablestore store (a dummy endpoint: the SDK's client
    connects lazily), keys in FC's variables, s.yaml's fixed PYDANTIC_DISABLE_PLUGINS."""
    import os
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGE_REPAIR_", "ALIBABA_CLOUD_", "TABLESTORE_"))}
    env.update({"FC_REGION": "cn-hangzhou", "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAItestfirstevent01",
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "testfirsteventsecret00000000001",
                "IMAGE_REPAIR_STORE": "tablestore://test-instance/image_repair",
                "TABLESTORE_ENDPOINT": "https://test-instance.cn-hangzhou.vpc.tablestore.aliyuncs.com",
                "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"})
    return env


def among(modules, prefixes):
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


@pytest.mark.parametrize("step", ["finish", "wait_for_repair", "watch_source_image"])
def test_a_steps_first_event_loads_no_pydantic(step, tmp_path):
    assert step in STEP_HANDLERS
    result = subprocess.run([sys.executable, "-c", CHILD, step, json.dumps(STORED)], env=fc_environment(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    modules = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert "tablestore.client" in modules and "image_repair.control.store.tablestore" in modules   # the real store
    assert among(modules, ("pydantic", "pydantic_core", "annotated_types", "typing_inspection")) == []


def module_level_imports(path: Path) -> set:
    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_tablestore_sdks_own_codec_imports_its_search_timeseries_and_sql_code():
    """Why a Tablestore access without that code is not built (docs/cloud-contracts.md, "FC cold
    start"): OTSClient -> tablestore.protocol -> encoder/decoder, which import search_pb2,
    timeseries_pb2 and the time-series and SQL flatbuffer code at module level; skipping the
    package's __init__ (which imports client, metadata, aggregation and group_by) would load the
    same modules. If this fails, the SDK changed shape: a lighter import may now be possible."""
    import tablestore
    sdk = Path(tablestore.__file__).parent
    encoder, decoder = module_level_imports(sdk / "encoder.py"), module_level_imports(sdk / "decoder.py")
    assert {"tablestore.protobuf.search_pb2", "tablestore.protobuf.timeseries_pb2",
            "tablestore.flatbuffer.timeseries_flat_buffer_encoder"} <= encoder
    assert {"tablestore.protobuf.search_pb2", "tablestore.protobuf.timeseries_pb2",
            "tablestore.flatbuffer.dataprotocol.SQLResponseColumns"} <= decoder
    assert {"tablestore.encoder", "tablestore.decoder"} <= module_level_imports(sdk / "protocol.py")
    assert "tablestore.protocol" in module_level_imports(sdk / "client.py")
    # the package's __init__ adds nothing the client's chain does not import already
    assert module_level_imports(sdk / "__init__.py") <= {
        "tablestore.client", "tablestore.metadata", "tablestore.aggregation", "tablestore.group_by",
        "tablestore.error", "tablestore.retry", "tablestore.credentials", "tablestore.const_module"}
    assert {"tablestore.metadata", "tablestore.aggregation", "tablestore.group_by"} <= encoder
    assert tablestore.__version__ == "6.4.8"      # constraints*.txt's pin: re-check the above on a new version
