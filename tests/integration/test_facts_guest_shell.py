"""Fixture guests really work as chroots: busybox shell, logging stubs, argv round trip."""
import subprocess

import pytest

from tests.fixtures import guest_files
from tests.fixtures.guests import GUESTS, build_guest, install_stub, read_stub_calls

pytestmark = pytest.mark.needs_root

ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}


def chroot_sh(tree, script):
    return subprocess.run(["chroot", str(tree), "/bin/sh", "-c", script], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, env=ENV, timeout=30)


@pytest.mark.parametrize("name", sorted(GUESTS))
def test_every_guest_has_a_working_shell_and_logging_tools(tmp_path, name):
    tree = build_guest(tmp_path, name)
    tool = {"yum": "yum", "dnf": "dnf", "apt": "apt-get", "zypper": "zypper"}[GUESTS[name].package_manager]
    result = chroot_sh(tree, "cat /etc/hostname && %s install -y cloud-init && echo done" % tool)
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines() == ["fixture-%s" % name, "done"]
    assert read_stub_calls(tree) == [[tool, "install", "-y", "cloud-init"]]


def test_stub_arguments_round_trip_exactly_and_the_body_runs(tmp_path):
    tree = build_guest(tmp_path, "centos7")
    install_stub(tree, "/usr/bin/dracut", 'touch "/boot/made-by-$1"\nexit 3\n')
    odd = ["-f", "--add-drivers", " virtio_blk virtio_pci ", "it's", "", "a\"b$c`d", "/boot/x.img"]
    result = subprocess.run(["chroot", str(tree), "/usr/bin/dracut"] + odd, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert result.returncode == 3, result.stdout
    assert (tree / "boot" / "made-by--f").exists()
    assert read_stub_calls(tree) == [["dracut"] + odd]


def test_a_stub_called_through_a_symlink_logs_the_name_it_was_called_by(tmp_path):
    tree = build_guest(tmp_path, "centos8")   # /usr/bin/yum -> dnf, as on EL8
    assert chroot_sh(tree, "yum -q makecache && dnf -q makecache").returncode == 0
    assert read_stub_calls(tree) == [["yum", "-q", "makecache"], ["dnf", "-q", "makecache"]]


@pytest.mark.needs_tools("lsinitramfs")   # initramfs-tools-core
@pytest.mark.parametrize("name", ["debian12", "centos-stream9", "sles15"])
def test_the_fixture_initramfs_is_readable_by_a_real_tool(tmp_path, name):
    tree = build_guest(tmp_path, name)
    spec = GUESTS[name]
    image = tree / guest_files.initramfs_name(spec, spec.kernels[0]).lstrip("/")
    listing = subprocess.run(["lsinitramfs", str(image)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             universal_newlines=True, check=True).stdout.split()
    assert "init" in listing
    wanted = "lib/modules/%s/%s%s" % (spec.kernels[0], guest_files.MODULE_PATHS["vmw_pvscsi"], spec.module_compression)
    assert wanted in listing
    assert not [path for path in listing if "virtio" in path]
