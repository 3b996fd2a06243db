#!/usr/bin/env bash
# The real-account smoke test: repair one image end to end with the real SDKs, print the timeline
# and the new image's check, remove everything it created and prove it by tag. CI never runs it.
#   scripts/smoke-account.sh REGION --image m-... --zone Z --vswitch vsw-... --security-group sg-... [--deploy]
#   scripts/smoke-account.sh --dry-run        the same code against the emulator served here
# Details: scripts/smoke_account.py, docs/deploying.md ("Smoke test").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
exec .venv/bin/python scripts/smoke_account.py "$@"
