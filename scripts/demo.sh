#!/usr/bin/env bash
# The main job on the embedded defaults: build (or reuse from the cache) a Debian disk image broken
# the way imported images are, check it, repair it with `image-repair repair-disk`, check it again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m image_repair_lab.demo "$@"
