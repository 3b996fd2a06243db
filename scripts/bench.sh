#!/usr/bin/env bash
# Set up (scripts/setup.sh, as scripts/test.sh does), then run the benchmarks (issue 7): one table
# on the terminal, the JSON in bench/results/latest.json. Arguments go to `python -m bench`:
#   scripts/bench.sh                                 all seven (the agent and demo benchmarks need root)
#   scripts/bench.sh --only workflow,coldstart       a subset: workflow, coldstart, agent, sweep, demo, pool
#   scripts/bench.sh --repeats 3 --json /tmp/b.json  fewer cold-start repeats, another JSON path
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m bench "$@"
