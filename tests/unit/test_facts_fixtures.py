"""The fixture guests themselves: what other tests rely on them to contain."""
import os

import pytest

from image_repair.agent.guest import cpio
from tests.fixtures import guest_files
from tests.fixtures.guests import GUESTS, build_guest, install_stub, read_stub_calls


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    root = tmp_path_factory.mktemp("fixture-guests")
    return {name: build_guest(root, name) for name in GUESTS}


@pytest.mark.parametrize("name", sorted(GUESTS))
def test_initramfs_holds_the_declared_modules_and_config_says_builtin(trees, name):
    spec, tree = GUESTS[name], trees[name]
    for kver in spec.kernels:
        image = tree / guest_files.initramfs_name(spec, kver).lstrip("/")
        names = cpio.module_names(cpio.list_file(str(image)))
        assert names == {cpio.normalise(m) for m in spec.initramfs_modules if m not in spec.builtin}
        config = (tree / ("boot/config-%s" % kver)).read_text()
        builtin = (tree / ("lib/modules/%s/modules.builtin" % kver)).read_text().split()
        for module in guest_files.VIRTIO_MODULES + guest_files.NVME_MODULES:
            state = "y" if module in spec.builtin else "m"
            assert "%s=%s\n" % (guest_files.KCONFIG_NAMES[module], state) in config
            shipped = tree / ("lib/modules/%s/%s.ko%s" % (kver, guest_files.MODULE_PATHS[module][:-3],
                                                            spec.module_compression))
            assert shipped.is_file() == (module not in spec.builtin)
            assert (guest_files.MODULE_PATHS[module] in builtin) == (module in spec.builtin)


@pytest.mark.parametrize("name", sorted(GUESTS))
def test_no_symlink_in_a_tree_is_absolute(trees, name):
    for directory, dirnames, filenames in os.walk(str(trees[name])):
        for entry in dirnames + filenames:
            path = os.path.join(directory, entry)
            if os.path.islink(path):
                assert not os.readlink(path).startswith("/"), path


def test_broken_variants_change_what_they_say(tmp_path):
    tree = build_guest(tmp_path, "rhel9", network_style="dhcp", fstab_style="devname", selinux="disabled",
                       initramfs_modules=guest_files.VIRTIO_MODULES)
    keyfile = (tree / "etc/NetworkManager/system-connections/eth0.nmconnection").read_text()
    assert "method=auto" in keyfile and "address1" not in keyfile
    assert (tree / "etc/fstab").read_text().startswith("/dev/sda1 ")
    assert "SELINUX=disabled\n" in (tree / "etc/selinux/config").read_text()
    [entry] = (tree / "boot/loader/entries").iterdir()
    assert "options root=/dev/sda1 ro " in entry.read_text()


def test_bad_requests_are_refused(tmp_path):
    with pytest.raises(KeyError):
        build_guest(tmp_path, "windows2019")
    with pytest.raises(TypeError):
        build_guest(tmp_path, "centos7", no_such_breakage=True)
    build_guest(tmp_path, "centos7")
    with pytest.raises(FileExistsError):
        build_guest(tmp_path, "centos7")


def test_install_stub_replaces_a_symlink_instead_of_writing_through_it(tmp_path):
    tree = build_guest(tmp_path, "centos8")      # /usr/bin/yum -> dnf
    dnf_before = (tree / "usr/bin/dnf").read_text()
    install_stub(tree, "/usr/bin/yum", "echo yum body\n")
    assert not (tree / "usr/bin/yum").is_symlink()
    assert (tree / "usr/bin/dnf").read_text() == dnf_before
    assert os.access(str(tree / "usr/bin/yum"), os.X_OK)


def test_read_stub_calls_without_any_call(tmp_path):
    assert read_stub_calls(build_guest(tmp_path, "debian11")) == []
