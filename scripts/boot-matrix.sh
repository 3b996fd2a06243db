#!/usr/bin/env bash
# Run the boot layer (tests/boot: every cell in qemu, about 35 min on 2 cores) and say where its
# matrix went. Extra arguments go to pytest (e.g. -k vmware).
#   scripts/boot-matrix.sh [-k CELL]            matrix into ${IMAGE_REPAIR_BOOT_WORK:-/var/tmp/image-repair-bootproof}/matrix/
#   scripts/boot-matrix.sh --update [-k CELL]   the run's cells merged into the tracked docs/boot-matrix.{json,md}
# A plain test run (scripts/test.sh) never writes docs/: see image_repair_lab.bootproof.matrix.destination.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--update" ]; then
  shift
  export IMAGE_REPAIR_BOOT_MATRIX_PUBLISH=1
else
  export IMAGE_REPAIR_BOOT_MATRIX_PUBLISH=0
fi
exec bash scripts/test.sh -m boot tests/boot "$@"
