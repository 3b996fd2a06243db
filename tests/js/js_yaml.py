"""js-yaml 4, the YAML parser of Serverless Devs 3, called from the Python tests.

Serverless Devs 3 reads s.yaml with js-yaml's ``yaml.load`` (Serverless-Devs/toolkit
``packages/utils/src/get-yaml-content.ts``; the published ``@serverless-devs/s`` 3.1.10 bundles
js-yaml 4.1.0). PyYAML is not a stand-in: it silently keeps the last of two equal mapping keys,
where js-yaml refuses the document. The exact js-yaml is pinned by tests/js/package-lock.json
and installed by scripts/setup.sh (``npm ci``); ``load-yaml.js`` parses one file and prints
JSON."""
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS_DIR = Path(__file__).resolve().parent
LOAD_YAML = JS_DIR / "load-yaml.js"
LOCK_FILE = JS_DIR / "package-lock.json"


class JsYamlRefused(Exception):
    """js-yaml refused the document (its message, e.g. ``duplicated mapping key (147:3)``)."""


def pinned_version() -> str:
    """The js-yaml version package-lock.json pins (what `npm ci` installs)."""
    return json.loads(LOCK_FILE.read_text())["packages"]["node_modules/js-yaml"]["version"]


def node_or_skip() -> str:
    """The node executable with js-yaml installed beside this file. Missing: a skip on a developer's
    machine that has not run scripts/setup.sh, a failure under CI (CI=true), never a silent pass."""
    node = shutil.which("node")
    installed = (JS_DIR / "node_modules" / "js-yaml" / "package.json").is_file()
    if node and installed:
        return node
    reason = ("node is not installed" if not node else "js-yaml is not installed in tests/js/node_modules") + \
        ": run scripts/setup.sh (it installs nodejs, npm and `npm ci` in tests/js)"
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def js_yaml_load(path: Path) -> Any:
    """The document at `path` as js-yaml's `yaml.load` returns it (then through JSON). Raises
    JsYamlRefused when js-yaml refuses it."""
    node = node_or_skip()
    result = subprocess.run([node, str(LOAD_YAML), str(path)], capture_output=True, text=True, timeout=60)
    if result.returncode not in (0, 1):
        raise RuntimeError("load-yaml.js failed (exit %d): %s" % (result.returncode, result.stderr.strip()))
    answer = json.loads(result.stdout)
    if answer["jsYaml"] != pinned_version():
        raise RuntimeError("js-yaml %s is installed, package-lock.json pins %s: run scripts/setup.sh"
                           % (answer["jsYaml"], pinned_version()))
    if "error" in answer:
        raise JsYamlRefused(answer["error"])
    return answer["data"]
