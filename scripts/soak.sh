#!/usr/bin/env bash
# The workflow's randomized fault schedules as a soak: 500 fresh schedules by default (the CI run is
# 25 fixed ones per store). Every schedule must end right (transient faults only: succeeded; a
# terminal fault or a failed item: failed with everything cleaned, or clean-up reporting exactly
# what it left).
#   scripts/soak.sh [--store sqlite|tablestore] [SCHEDULES]
#     sqlite (default): the store is a SQLite file; figures go to build/soak.json (docs/flow.md)
#     tablestore: the Tablestore adapter through the real SDK over HTTP to the emulator's
#       Tablestore, with store faults mixed in; figures go to build/soak-tablestore.json (docs/store.md)
set -euo pipefail
cd "$(dirname "$0")/.."
store=sqlite
if [ "${1:-}" = "--store" ]; then
    store=${2:-}
    shift 2 || { echo "soak: --store needs sqlite or tablestore" >&2; exit 2; }
fi
case "$store" in
    sqlite) select="not tablestore"; report=build/soak.json ;;
    tablestore) select="tablestore"; report=build/soak-tablestore.json ;;
    *) echo "soak: --store must be sqlite or tablestore, not '$store'" >&2; exit 2 ;;
esac
schedules=${1:-500}
if ! [[ "$schedules" =~ ^[0-9]+$ ]] || [ "$schedules" -lt 1 ] || [ "$schedules" -gt 100000 ]; then
    echo "soak: SCHEDULES must be a whole number from 1 to 100000, not '$schedules'" >&2
    exit 2
fi
bash scripts/setup.sh
mkdir -p build
export IMAGE_REPAIR_SOAK_SCHEDULES=$schedules IMAGE_REPAIR_SOAK_REPORT=$report
started=$(date +%s)
.venv/bin/python -m pytest -q -p no:cacheprovider tests/integration/test_workflow_random_faults.py -k "$select"
echo "soak ($store): $schedules schedules in $(( $(date +%s) - started )) s: $(tr -d '\n ' < "$report")"
