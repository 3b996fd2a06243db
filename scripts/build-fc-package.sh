#!/usr/bin/env bash
# Build the one code package every function of s.yaml deploys: build/fc/ holds the image_repair
# package and requirements-fc.txt installed for Function Compute's python3.10 runtime
# (manylinux2014 x86_64), whatever Python and platform this runs on. s.yaml runs it as its
# pre-deploy action; run it by hand before `s deploy` if your Serverless Devs skips actions.
#
#   scripts/build-fc-package.sh [OUTPUT_DIR]      (default build/fc)
#
# Some Alibaba Cloud SDK dependencies (alibabacloud-endpoint-util, ...) are published on PyPI as
# source archives only, which `--only-binary=:all:` refuses. They are pure Python: they are first
# built into wheels here (build/fc-wheels), then everything is installed for the target runtime,
# taking the compiled dependencies (pydantic-core, PyYAML, protobuf, ...) as cp310 manylinux wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build/fc}
WHEELS=build/fc-wheels
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}

rm -rf "$OUT"
mkdir -p "$OUT" "$WHEELS"
"$PYTHON" -m pip wheel --quiet --disable-pip-version-check -w "$WHEELS" -r requirements-fc.txt
"$PYTHON" -m pip install --quiet --disable-pip-version-check --no-compile \
  --target "$OUT" --python-version 3.10 --implementation cp --platform manylinux2014_x86_64 \
  --only-binary=:all: --find-links "$WHEELS" -r requirements-fc.txt
# Proof the compiled dependencies are the runtime's (not this machine's Python).
if ! ls "$OUT"/pydantic_core/_pydantic_core.cpython-310-x86_64-linux-gnu.so >/dev/null 2>&1; then
  echo "build-fc-package: pydantic-core for cpython-310 x86_64 is missing from $OUT" >&2
  exit 1
fi
# The project itself, without caches (the function imports it from the code root).
tar -C src --exclude='__pycache__' --exclude='*.pyc' -cf - image_repair | tar -C "$OUT" -xf -
echo "build-fc-package: $OUT ($(du -sh "$OUT" | cut -f1)) for python3.10 manylinux2014_x86_64" >&2
