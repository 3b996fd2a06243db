"""The initramfs lister falling back to the guest's own zstd.

The pure cases are in tests/unit/test_cpio.py. These run the guest's own (stub)
tools in a chroot, so they need root."""
import os
import shutil
import subprocess

import pytest

from image_repair.agent.guest import cpio
from tests.unit.test_cpio import MODULES, build_cpio

pytestmark = pytest.mark.needs_root


def copy_binary_with_libraries(binary, root):
    """Copy a host binary and the shared libraries ldd lists into ``root`` (a minimal guest)."""
    paths = [binary] + [word for line in subprocess.run(["ldd", binary], stdout=subprocess.PIPE,
                                                         universal_newlines=True, check=True).stdout.splitlines()
                        for word in line.split() if word.startswith("/")]
    for path in paths:
        target = os.path.join(str(root), path.lstrip("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.realpath(path), target)


@pytest.mark.needs_tools("zstd")
def test_zstd_from_the_guest_when_the_host_has_none(tmp_path, monkeypatch):
    guest = tmp_path / "guest"
    copy_binary_with_libraries(shutil.which("zstd"), guest)
    packed = subprocess.run(["zstd", "-q", "-c"], input=build_cpio(tmp_path, MODULES),
                            stdout=subprocess.PIPE, check=True).stdout
    real_which = cpio.runner.which
    monkeypatch.setattr(cpio.runner, "which", lambda name, root=None: real_which(name, root) if root else None)
    assert "virtio_blk" in cpio.module_names(cpio.list_bytes(packed + b"\0" * 16, guest_root=str(guest)))
