"""prepare_chroot on real mounted guests: binds, a working resolv.conf (the original restored
exactly, symlink or immutable file), the host's EFI hidden from BIOS guests, by-uuid links."""
import os
import shutil
import subprocess
import tempfile

import pytest

from image_repair.agent.disk import chroot, session
from . import diskbuild

pytestmark = pytest.mark.needs_root

BIOS = type("Facts", (), {"boot_mode": "BIOS"})()
UEFI = type("Facts", (), {"boot_mode": "UEFI"})()


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("chroot"))
    return {"gpt": diskbuild.build_gpt_uefi(folder), "mbr": diskbuild.build_mbr_ext4(folder)}


@pytest.fixture(autouse=True)
def nothing_left_behind(tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    yield
    assert os.listdir(str(scratch)) == []
    assert diskbuild.mounts_under(str(tmp_path)) == []
    assert diskbuild.loops_backed_by(str(tmp_path)) == []


def host_resolv():
    with open("/etc/resolv.conf", "rb") as handle:
        return handle.read()


def test_chroot_binds_and_a_dangling_resolv_conf_restored_exactly(images, tmp_path):
    built = images["gpt"]
    path = diskbuild.sparse_copy(built.path, str(tmp_path / "gpt.img"))
    created_link = not os.path.lexists("/dev/disk/by-uuid/" + built.root_uuid)
    with session.open_guest(session.resolve_target(path=path)) as guest:
        root = guest.root
        original = os.lstat(os.path.join(root, "etc/resolv.conf"))
        assert os.readlink(os.path.join(root, "etc/resolv.conf")) == "../run/systemd/resolve/stub-resolv.conf"
        guest.prepare_chroot(UEFI)
        for folder in ("dev", "dev/pts", "proc", "sys", "run"):
            assert os.path.ismount(os.path.join(root, folder)), folder
        assert os.listdir(os.path.join(root, "run")) == []          # a fresh /run, not the host's
        resolv = os.path.join(root, "etc/resolv.conf")
        assert not os.path.islink(resolv)
        with open(resolv, "rb") as handle:
            assert handle.read() == host_resolv()
        if created_link:
            link = "/dev/disk/by-uuid/" + built.root_uuid
            assert os.path.realpath(link) == os.path.realpath(guest.layout["filesystems"][0]["device"])
        busybox = shutil.which("busybox")
        if busybox:   # the chroot really works: a static shell inside reads the provided file
            shutil.copy(busybox, os.path.join(root, "usr/bin/busybox"))
            output = subprocess.run(["chroot", root, "/usr/bin/busybox", "cat", "/etc/resolv.conf"],
                                    stdout=subprocess.PIPE, check=True).stdout
            assert output == host_resolv()
            mounts = subprocess.run(["chroot", root, "/usr/bin/busybox", "cat", "/proc/self/mounts"],
                                    stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
            assert " /boot " in mounts
    if created_link:
        assert not os.path.lexists("/dev/disk/by-uuid/" + built.root_uuid)
    with session.open_guest(session.resolve_target(path=path, read_only=True)) as guest:
        resolv = os.path.join(guest.root, "etc/resolv.conf")
        assert os.readlink(resolv) == "../run/systemd/resolve/stub-resolv.conf"
        after = os.lstat(resolv)
        assert (after.st_ino, after.st_mode, after.st_mtime) == (original.st_ino, original.st_mode, original.st_mtime)
        assert not os.path.lexists(os.path.join(guest.root, "etc", chroot.RESOLV_ASIDE))


def test_an_immutable_resolv_conf_is_replaced_and_restored(images, tmp_path):
    path = diskbuild.sparse_copy(images["mbr"].path, str(tmp_path / "mbr.img"))
    with session.open_guest(session.resolve_target(path=path)) as guest:
        resolv = os.path.join(guest.root, "etc/resolv.conf")
        with open(resolv, "w") as handle:
            handle.write("nameserver 192.0.2.53\n")
        os.chmod(resolv, 0o600)
        subprocess.run(["chattr", "+i", resolv], check=True)
    with session.open_guest(session.resolve_target(path=path)) as guest:
        resolv = os.path.join(guest.root, "etc/resolv.conf")
        guest.prepare_chroot(BIOS)
        with open(resolv, "rb") as handle:
            assert handle.read() == host_resolv()
    with session.open_guest(session.resolve_target(path=path, read_only=True)) as guest:
        resolv = os.path.join(guest.root, "etc/resolv.conf")
        assert open(resolv).read() == "nameserver 192.0.2.53\n"
        assert os.stat(resolv).st_mode & 0o777 == 0o600
        attributes = subprocess.run(["lsattr", "-d", resolv], stdout=subprocess.PIPE,
                                    universal_newlines=True, check=True).stdout.split()[0]
        assert "i" in attributes


def test_a_bios_guest_does_not_see_the_hosts_efi(images):
    with session.open_guest(session.resolve_target(path=images["mbr"].path, read_only=True)) as guest:
        guest.prepare_chroot(BIOS)
        efi = os.path.join(guest.root, "sys/firmware/efi")
        if os.path.isdir("/sys/firmware/efi"):
            assert os.path.ismount(efi) and os.listdir(efi) == []
        else:
            assert not os.path.exists(efi)   # this host has no UEFI to leak
        assert os.path.isdir(os.path.join(guest.root, "sys/block"))


def test_hiding_a_host_firmware_folder_really_masks_it(images):
    # This host boots without UEFI, so the masking is shown on a folder it does have.
    assert os.listdir("/sys/firmware")
    with session.open_guest(session.resolve_target(path=images["mbr"].path, read_only=True)) as guest:
        guest.prepare_chroot(BIOS)
        masked = chroot.hide_host_efi(guest._stack, guest.root, host_efi="/sys/firmware")
        assert masked == guest.root + "/sys/firmware"
        assert os.listdir(masked) == [] and os.listdir("/sys/firmware")


def test_read_only_leaves_resolv_conf_alone(images):
    with session.open_guest(session.resolve_target(path=images["gpt"].path, read_only=True)) as guest:
        guest.prepare_chroot(UEFI)
        assert os.path.islink(os.path.join(guest.root, "etc/resolv.conf"))
        assert os.path.ismount(os.path.join(guest.root, "proc"))


def test_resolv_conf_left_aside_by_a_killed_run_is_recovered(images, tmp_path):
    path = diskbuild.sparse_copy(images["mbr"].path, str(tmp_path / "mbr.img"))
    with session.open_guest(session.resolve_target(path=path)) as guest:
        etc = os.path.join(guest.root, "etc")
        os.symlink("/run/resolvconf/resolv.conf", os.path.join(etc, chroot.RESOLV_ASIDE))   # the original
        with open(os.path.join(etc, "resolv.conf"), "w") as handle:                          # the killed run's copy
            handle.write("nameserver 198.51.100.1\n")
    with session.open_guest(session.resolve_target(path=path)) as guest:
        guest.prepare_chroot(BIOS)
    with session.open_guest(session.resolve_target(path=path, read_only=True)) as guest:
        etc = os.path.join(guest.root, "etc")
        assert os.readlink(os.path.join(etc, "resolv.conf")) == "/run/resolvconf/resolv.conf"
        assert not os.path.lexists(os.path.join(etc, chroot.RESOLV_ASIDE))
