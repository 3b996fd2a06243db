#!/usr/bin/env bash
# The workflow's randomized fault schedules as a soak: 500 fresh schedules by default (the CI run is
# 25 fixed ones). Every schedule must end right (transient faults only: succeeded; a terminal fault
# or a failed item: failed with everything cleaned, or clean-up reporting exactly what it left).
#   scripts/soak.sh [SCHEDULES]        figures go to build/soak.json (docs/flow.md quotes them)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
schedules=${1:-500}
mkdir -p build
export IMAGE_REPAIR_SOAK_SCHEDULES=$schedules IMAGE_REPAIR_SOAK_REPORT=build/soak.json
started=$(date +%s)
.venv/bin/python -m pytest -q -p no:cacheprovider tests/integration/test_workflow_random_faults.py
echo "soak: $schedules schedules in $(( $(date +%s) - started )) s: $(cat build/soak.json | tr -d '\n ')"
