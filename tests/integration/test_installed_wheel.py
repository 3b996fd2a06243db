"""A normal install works: the project built as a wheel, installed into a clean virtualenv (no
source tree on the path, no editable finder), runs ``image-repair repair --image-file`` on the
embedded defaults (the local cloud, the SQLite store) and repairs a real broken Debian image.

Before issue 14 the flow definition was found through ``parents[3]/state_machine``: a wheel had
none and this command failed with FileNotFoundError. The definition is package data now
(control/local_run.py), and the wheel must carry the same bytes as state_machine/.

The wheel's dependencies come from a wheelhouse built with the project's own pip (its cache and
its configured indexes) and kept between runs under /var/tmp, keyed by requirements.txt; then the
project's pip installs into the new venv (``pip --python``, so the venv needs no pip of its own)
with ``--no-index``: the install proves the wheel's metadata (the ``cloud`` extra) is complete
without reaching any index. Needs root (the local cloud attaches loop devices and mounts the image)."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ITEMS = "fstab,grub,virtio,dhcp"       # no package installs: no network needed
GUARD_S = 900
WHEELHOUSES = Path(os.environ.get("IMAGE_REPAIR_WHEELHOUSES", "/var/tmp/image-repair-wheelhouse"))

pytestmark = pytest.mark.needs_root


def pip(python: str, *args: str, cwd: Path) -> str:
    result = subprocess.run([python, "-m", "pip", "--disable-pip-version-check", *args], cwd=str(cwd),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                            timeout=GUARD_S)
    assert result.returncode == 0, result.stdout[-4000:]
    return result.stdout


def clean_env(**extra: str) -> dict:
    """The caller's environment without anything that would put the source tree on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(extra)
    return env


def wheelhouse() -> Path:
    """The runtime requirements as wheels, built once per requirements.txt (in a temporary folder
    renamed into place, so a half-built one is never used)."""
    requirements = ROOT / "requirements.txt"
    folder = WHEELHOUSES / hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    if not (folder / ".complete").exists():
        WHEELHOUSES.mkdir(parents=True, exist_ok=True)
        building = Path(str(folder) + ".building-%d" % os.getpid())
        shutil.rmtree(str(building), ignore_errors=True)
        pip(sys.executable, "wheel", "-q", "-w", str(building), "-r", str(requirements), cwd=WHEELHOUSES)
        (building / ".complete").write_text("")
        shutil.rmtree(str(folder), ignore_errors=True)
        os.rename(str(building), str(folder))
    return folder


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """{tmp}/venv with the wheel of this tree and its ``cloud`` extra installed; -> its bin/."""
    work = tmp_path_factory.mktemp("wheel")
    wheels, venv = work / "dist", work / "venv"
    pip(sys.executable, "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT), cwd=work)
    (wheel,) = wheels.glob("ecs_image_repair-*.whl")
    with zipfile.ZipFile(str(wheel)) as archive:
        names = archive.namelist()
        packaged = archive.read("image_repair/control/repair_image.yaml")
    assert packaged == (ROOT / "state_machine" / "repair_image.yaml").read_bytes()
    assert not [n for n in names if n.startswith(("tests/", "bench/", "scripts/"))]
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=GUARD_S)
    pip(sys.executable, "--python", str(venv / "bin" / "python"), "install", "-q", "--no-index",
        "--find-links", str(wheelhouse()), "--find-links", str(wheels), "ecs-image-repair[cloud]", cwd=work)
    return venv / "bin"


def test_the_wheel_installs_the_package_not_a_link_to_the_tree(installed, tmp_path):
    probe = subprocess.run([str(installed / "python"), "-c",
                            "import image_repair, image_repair.control.local_run as l; "
                            "print(image_repair.__file__); print(l.DEFINITION)"],
                           cwd=str(tmp_path), env=clean_env(), stdout=subprocess.PIPE, universal_newlines=True,
                           check=True).stdout.splitlines()
    site = str(installed.parent / "lib")
    assert probe[0].startswith(site) and probe[1].startswith(site), probe
    assert not str(ROOT) in "".join(probe)
    assert not Path(probe[1]).is_symlink() and Path(probe[1]).read_bytes() == \
        (ROOT / "state_machine" / "repair_image.yaml").read_bytes()


def test_image_repair_repair_runs_from_the_installed_wheel(installed, tmp_path):
    from image_repair_lab.testimages import Recipe, broken_image
    image = str(broken_image(Recipe(firmware="bios", rootfs="ext4", layout="plain"), ["vmware"]).path)
    with open(image, "rb") as handle:
        before = hashlib.sha256(handle.read()).hexdigest()
    output = tmp_path / "repaired.img"
    result = subprocess.run(
        [str(installed / "image-repair"), "repair", "--image-file", image, "--cloud-dir", str(tmp_path / "cloud"),
         "--items", ITEMS, "--time-scale", "0.001", "--output", str(output), "--json"],
        cwd=str(tmp_path), env=clean_env(IMAGE_REPAIR_STORE="sqlite://%s" % (tmp_path / "state.db")),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=GUARD_S)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Traceback" not in result.stderr
    answer = json.loads(result.stdout)
    assert answer["status"] == "SUCCEEDED", answer
    before_items = {item["name"]: item["value"] for item in answer["report"]["itemsBefore"]}
    after = {item["name"]: item["value"] for item in answer["report"]["itemsAfter"]}
    assert before_items["GUESTOS.Fstab"] == "UnSupported"        # the image was broken, and is not now
    for name in ("GUESTOS.Fstab", "GUESTOS.Grub", "GUESTOS.Virtio", "GUESTOS.Dhcp"):
        assert after[name] == "Supported", answer["report"]["itemsAfter"]
    assert output.stat().st_size > 0
    with open(image, "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == before          # the input only ever read
