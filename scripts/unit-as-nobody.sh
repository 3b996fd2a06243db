#!/usr/bin/env bash
# Run the unit layer (tests/unit) as an unprivileged user: the unit layer promises "pure, no root",
# and this is how that promise is checked (tests/integration/test_layers.py runs it and expects
# nothing skipped and nothing failed). Run it as root; extra arguments go to pytest.
#   scripts/unit-as-nobody.sh [-q] [-k EXPR]
#
# Why not just `setpriv ... .venv/bin/python`: the project's .venv may sit on an interpreter other
# users cannot reach (here pyenv's, under /root, mode 0700), and the work tree may be in a folder
# they cannot read. So the run uses
#   * a copy of the work tree (tracked and untracked files, no .git, no .venv) in a fresh folder
#     readable by everyone, so the run can neither read nor write anything but its copy and /tmp;
#   * a venv of the system's /usr/bin/python3 (Debian's python3 and python3-venv, installed by
#     scripts/setup.sh) holding requirements-dev.txt, built once and cached under
#     ${IMAGE_REPAIR_NOBODY_VENVS:-/var/tmp/image-repair-nobody-venv}/<checksum of the requirements>;
#     the project itself comes from the copy's src/ on PYTHONPATH.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
user_id=${IMAGE_REPAIR_NOBODY_UID:-65534}

if [ "$(id -u)" -ne 0 ]; then
  echo "unit-as-nobody.sh: run as root (it switches to uid $user_id)" >&2
  exit 2
fi
command -v setpriv >/dev/null || { echo "unit-as-nobody.sh: setpriv (util-linux) is missing" >&2; exit 2; }

python=/usr/bin/python3
venvs=${IMAGE_REPAIR_NOBODY_VENVS:-/var/tmp/image-repair-nobody-venv}
checksum=$(cat requirements.txt requirements-dev.txt constraints.txt | sha256sum | cut -c1-16)
venv=$venvs/$("$python" -c 'import sys; print("py%d%d" % sys.version_info[:2])')-$checksum
mkdir -p "$venvs"
chmod 0755 "$venvs"
# One build at a time; a venv's scripts name its interpreter by absolute path, so it is built in
# place and marked complete last (a half-built one is rebuilt).
exec 9>"$venvs/.lock"
flock 9
if [ ! -e "$venv/.complete" ]; then
  echo "unit-as-nobody.sh: building $venv (once)" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q -c constraints.txt -r requirements-dev.txt >&2
  chmod -R a+rX "$venv"
  touch "$venv/.complete"
fi
exec 9>&-

copy=$(mktemp -d /var/tmp/image-repair-unit-as-nobody.XXXXXX)
trap 'rm -rf "$copy"' EXIT
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$repo" ls-files -z --cached --others --exclude-standard | tar -C "$repo" --null -T - -cf - | tar -C "$copy" -xf -
else
  tar -C "$repo" --exclude=./.git --exclude=./.venv -cf - . | tar -C "$copy" -xf -
fi
# the js-yaml that setup.sh installed (ignored by git, needed by the deployment tests)
if [ -d "$repo/tests/js/node_modules" ]; then
  cp -a "$repo/tests/js/node_modules" "$copy/tests/js/"
fi
chmod -R a+rX "$copy"
mkdir "$copy/home"
chown "$user_id:$user_id" "$copy/home"
chmod 0755 "$copy"

echo "unit-as-nobody.sh: tests/unit as uid $user_id in $copy with $venv" >&2
cd "$copy"
set +e
setpriv --reuid="$user_id" --regid="$user_id" --clear-groups --inh-caps=-all --bounding-set=-all \
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$copy/home" LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 \
      PYTHONPATH="$copy/src" ${CI:+CI=$CI} \
  "$venv/bin/python" -m pytest tests/unit -p no:cacheprovider "$@"
status=$?
set -e
exit "$status"
