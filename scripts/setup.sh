#!/usr/bin/env bash
# Set up a fresh Debian 12 machine (as root) for ecs-image-repair: system packages, a virtualenv
# in .venv with the project and its test tools. Idempotent and quick when everything is there.
#   scripts/setup.sh          runtime + test tools
set -euo pipefail
cd "$(dirname "$0")/.."

# Tools the agent drives on a disk (mount, partition tables, filesystems, LVM), the ones that
# build and boot test guests (debootstrap, qemu, OVMF), the ones tests use as oracles
# (initramfs-tools-core: lsinitramfs reads the fixture initramfs images), and Python's venv (the
# system python3 also runs the unit layer as an unprivileged user: scripts/unit-as-nobody.sh).
# Every tool a test needs is here: under CI=true a test skipped for a missing tool fails the run.
APT_PACKAGES=(
  python3 python3-venv python3-pip
  util-linux mount e2fsprogs xfsprogs btrfs-progs dosfstools fdisk gdisk parted lvm2 kmod
  qemu-utils qemu-system-x86 ovmf debootstrap busybox-static zstd lz4 xz-utils cpio mtools
  initramfs-tools-core
  curl ca-certificates
)

missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node and js-yaml, the parser Serverless Devs 3 reads s.yaml with: the deployment tests run it
# (tests/js, the version pinned by its package-lock.json). Debian's nodejs and npm only when this
# machine has no node of its own (a NodeSource node brings its npm).
node_packages=()
command -v node >/dev/null 2>&1 || node_packages+=(nodejs)
command -v npm >/dev/null 2>&1 || node_packages+=(npm)
if ((${#node_packages[@]})); then
  echo "setup: installing ${node_packages[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${node_packages[@]}" >/dev/null
fi
js_stamp=tests/js/node_modules/.package-lock.sha
js_want=$(cat tests/js/package.json tests/js/package-lock.json | sha256sum | cut -d' ' -f1)
if [ "$(cat "$js_stamp" 2>/dev/null)" != "$js_want" ]; then
  (cd tests/js && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$js_want" > "$js_stamp"
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(cat requirements.txt requirements-dev.txt constraints.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -c constraints.txt -r requirements-dev.txt
  .venv/bin/python -m pip install -q --no-deps -e .
  echo "$want" > "$stamp"
fi
