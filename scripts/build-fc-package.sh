#!/usr/bin/env bash
# Build the one code package every function of s.yaml deploys: build/fc/ holds the image_repair
# package and requirements-fc.txt installed for Function Compute's python3.10 runtime
# (manylinux2014 x86_64), whatever Python and platform this runs on. s.yaml runs it as its
# pre-deploy action; run it by hand before `s deploy` if your Serverless Devs skips actions.
#
#   scripts/build-fc-package.sh [OUTPUT_DIR]      (default build/fc)
#   scripts/build-fc-package.sh --code-only DIR   only the project's part (what tests/unit/test_packaging.py lists)
#
# The package holds the product the functions run, nothing else: image_repair/__init__.py, the
# control plane (handlers, steps, adapters; the flow definition as package data) and the agent
# (the steps deliver it to the repair host as a zipapp built from these sources). Not the CLI, not
# the ECS/Tablestore emulators, not image_repair.testing, not the lab (src/image_repair_lab), not
# tests/ or bench/: no function imports them (pyproject.toml's import contracts say so).
#
# Some Alibaba Cloud SDK dependencies (alibabacloud-endpoint-util, ...) are published on PyPI as
# source archives only, which `--only-binary=:all:` refuses. They are pure Python: they are first
# built into wheels here (build/fc-wheels), then everything is installed for the target runtime,
# taking the compiled dependencies (pydantic-core, PyYAML, protobuf, ...) as cp310 manylinux wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
CODE_ONLY=
if [ "${1:-}" = "--code-only" ]; then
  CODE_ONLY=1
  shift
  [ -n "${1:-}" ] || { echo "build-fc-package: --code-only needs an output folder" >&2; exit 2; }
fi
OUT=${1:-build/fc}
PRODUCT=(image_repair/__init__.py image_repair/control image_repair/agent)

# The project's part: the product's sources, without caches, symbolic links followed (the flow
# definition, control/repair_image.yaml, is a link to state_machine/ in the source tree).
copy_product() {
  tar -C src -h --exclude='__pycache__' --exclude='*.pyc' -cf - "${PRODUCT[@]}" | tar -C "$1" -xf -
}
if [ -n "$CODE_ONLY" ]; then
  rm -rf "$OUT"
  mkdir -p "$OUT"
  copy_product "$OUT"
  exit 0
fi
WHEELS=build/fc-wheels
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}

rm -rf "$OUT"
mkdir -p "$OUT" "$WHEELS"
"$PYTHON" -m pip wheel --quiet --disable-pip-version-check -w "$WHEELS" -c constraints-fc.txt -r requirements-fc.txt
"$PYTHON" -m pip install --quiet --disable-pip-version-check --no-compile \
  --target "$OUT" --python-version 3.10 --implementation cp --platform manylinux2014_x86_64 \
  --only-binary=:all: --find-links "$WHEELS" -c constraints-fc.txt -r requirements-fc.txt
# Proof the compiled dependencies are the runtime's (not this machine's Python).
if ! ls "$OUT"/pydantic_core/_pydantic_core.cpython-310-x86_64-linux-gnu.so >/dev/null 2>&1; then
  echo "build-fc-package: pydantic-core for cpython-310 x86_64 is missing from $OUT" >&2
  exit 1
fi
# numpy (and numpy.libs, ~73 MB) leaves the package: tablestore declares it, but only its
# time-series and SQL flatbuffer code uses it; the row API the store uses works without it, and
# every cold start saves its import (docs/bench.md, benchmark 3).
rm -rf "$OUT"/numpy "$OUT"/numpy.libs "$OUT"/numpy-*.dist-info "$OUT"/bin/f2py "$OUT"/bin/numpy-config
# The project itself (the function imports it from the code root): the product only.
copy_product "$OUT"
# Import every handler and SDK from the package alone (no site-packages) with a Python 3.10 when
# this machine has one: catches a dependency left out by pip's marker evaluation.
# (PY310=/path/to/python3.10 to choose one; else python3.10 on PATH, else a pyenv 3.10.)
is_py310() { [ -n "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; }
if ! is_py310 "${PY310:-}"; then
  PY310=""
  for candidate in "$(command -v python3.10 || true)" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10*/bin/python3.10; do
    if is_py310 "$candidate"; then PY310=$candidate; break; fi
  done
fi
if [ -n "$PY310" ]; then
  # Bytecode for the runtime's Python: FC's /code is read-only, so a package without it compiles
  # every module from source at every cold start (seconds of CPU, docs/bench.md). unchecked-hash
  # .pyc stay valid whatever the files' mtimes become through zip and unzip.
  "$PY310" -m compileall -q -j 0 --invalidation-mode unchecked-hash "$OUT" >/dev/null
  "$PY310" -S - "$OUT" <<'PYTHON'
import importlib, pkgutil, sys
sys.path.insert(0, sys.argv[1])
import image_repair.control.handlers as handlers
names = [m.name for m in pkgutil.iter_modules(handlers.__path__) if m.name not in ("fc", "local")]
for name in names:
    assert callable(importlib.import_module("image_repair.control.handlers." + name).handler), name
for sdk in ("alibabacloud_ecs20140526.client", "alibabacloud_fnf20190315.client",
            "alibabacloud_fc20230330.client", "tablestore", "pydantic", "yaml"):
    importlib.import_module(sdk)
assert "numpy" not in sys.modules, "numpy got imported"
sys.stderr.write("build-fc-package: %d handlers and the SDKs import on Python %s (bytecode compiled, no numpy)\n"
                 % (len(names), sys.version.split()[0]))
PYTHON
else
  echo "build-fc-package: WARNING: no Python 3.10 here: no bytecode for the runtime (every module is" >&2
  echo "  compiled at each cold start) and the imports were not tried; set PY310=/path/to/python3.10" >&2
fi
echo "build-fc-package: $OUT ($(du -sh "$OUT" | cut -f1)) for python3.10 manylinux2014_x86_64" >&2
