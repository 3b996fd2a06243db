"""Module status per kernel and the rebuild plan, on small guest trees (dry runs: nothing runs)."""
import gzip
import os

import pytest

from image_repair.agent.guest import initramfs, initramfs_tools
from image_repair.agent.guest.context import Guest
from image_repair.agent.guest.model import DRACUT, INITRAMFS_TOOLS, MKINITRD, GuestFacts, Kernel

VIRTIO = ["virtio_blk", "virtio_pci", "virtio_net", "virtio_scsi", "virtio_console"]


def newc(names):
    """A newc cpio archive holding empty files ``names``."""
    out = b""
    for index, name in enumerate(list(names) + ["TRAILER!!!"]):
        raw = name.encode() + b"\0"
        header = b"070701" + b"".join(b"%08X" % v for v in (index + 1, 0o100644, 0, 0, 1, 0, 0, 0, 0, 0, 0, len(raw), 0))
        out += header + raw
        out += b"\0" * (-len(out) % 4)
    return out


def make_guest(tmp_path, kernels, tool=DRACUT, family="rhel", dry_run=True, commands=("dracut",)):
    """kernels: {version: {"ko": [names shipped], "initrd": [names in it] or None, "builtin": [...],
    "config": [CONFIG symbols =y]}}."""
    root = tmp_path / "root"
    facts = GuestFacts()
    facts.family = family
    facts.initramfs_tool = tool
    for version, spec in kernels.items():
        moddir = root / "lib/modules" / version
        moddir.mkdir(parents=True)
        (moddir / "modules.dep").write_text("".join("kernel/drivers/%s.ko.xz:\n" % m.replace("_", "-", 1 if m == "nvme_core" else 0)
                                                    for m in spec.get("ko", [])))
        (moddir / "modules.builtin").write_text("".join("kernel/drivers/%s.ko\n" % m for m in spec.get("builtin", [])))
        boot = root / "boot"
        boot.mkdir(exist_ok=True)
        (boot / ("config-" + version)).write_text("".join("CONFIG_%s=y\n" % c for c in spec.get("config", [])))
        image = "/boot/initramfs-%s.img" % version
        if spec.get("initrd") is not None:
            (root / image[1:]).write_bytes(newc(["kernel/x86/microcode/GenuineIntel.bin"]) + gzip.compress(
                newc(["usr/lib/modules/%s/kernel/drivers/%s.ko.xz" % (version, m) for m in spec["initrd"]])))
        facts.kernels.append(Kernel(version, "/boot/vmlinuz-" + version, image))
    for command in commands:
        stub = root / "usr/sbin" / command
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("#!/bin/sh\n# options: --no-hostonly --add-drivers\nexit 0\n")
        stub.chmod(0o755)
    return Guest(str(root), facts, dry_run=dry_run)


def test_status_counts_builtin_and_reports_unshipped(tmp_path):
    guest = make_guest(tmp_path, {"5.14.0": {"ko": ["virtio_net", "virtio_scsi", "virtio_console"],
                                             "builtin": ["virtio_blk"], "config": ["VIRTIO_PCI"],
                                             "initrd": ["virtio_net"]}})
    status = initramfs.module_status(guest, guest.facts.kernels[0], VIRTIO + ["virtio_ring"])
    assert status.builtin == {"virtio_blk", "virtio_pci"}
    assert status.in_initramfs == {"virtio_net"}
    assert status.missing == ["virtio_scsi", "virtio_console"]
    assert status.unavailable == ["virtio_ring"]
    assert initramfs.missing_modules(guest, guest.facts.kernels[0], VIRTIO) == ["virtio_scsi", "virtio_console"]
    assert "virtio_scsi, virtio_console missing from /boot/initramfs-5.14.0.img" in status.findings()[0]


def test_one_dracut_rebuild_per_kernel_for_all_items_never_hostonly(tmp_path):
    kernels = {"5.14.0": {"ko": VIRTIO + ["nvme", "nvme_core"], "initrd": []},
               "4.18.0": {"ko": VIRTIO + ["nvme", "nvme_core"], "initrd": VIRTIO + ["nvme", "nvme_core"]},
               "3.10.0": {"ko": VIRTIO + ["nvme"], "initrd": ["nvme"]}}
    guest = make_guest(tmp_path, kernels)
    plan = guest.initramfs
    plan.require("virtio", VIRTIO)
    plan.require("nvme", ["nvme", "nvme-core"])
    assert plan.requested_by() == ["virtio", "nvme"]
    assert plan.apply(guest) == {}
    assert guest.fs.record.commands == [
        "dracut -f --no-hostonly --add-drivers %s nvme nvme_core /boot/initramfs-5.14.0.img 5.14.0" % " ".join(VIRTIO),
        # 3.10 ships no nvme_core module: not required, not passed.
        "dracut -f --no-hostonly --add-drivers %s nvme /boot/initramfs-3.10.0.img 3.10.0" % " ".join(VIRTIO),
    ]
    assert not any("--hostonly" in c.replace("--no-hostonly", "") for c in guest.fs.record.commands)
    # dry run: the persistent configuration is shown, not written
    assert guest.fs.record.files == ["/etc/dracut.conf.d/image-repair.conf"]
    assert 'hostonly="no"' in guest.fs.record.diffs[0]
    assert not os.path.exists(guest.fs.host_path("/etc/dracut.conf.d/image-repair.conf"))


def test_nothing_to_do_when_every_kernel_has_the_modules(tmp_path):
    guest = make_guest(tmp_path, {"6.1.0": {"ko": VIRTIO, "initrd": VIRTIO}})
    guest.initramfs.require("virtio", VIRTIO)
    assert guest.initramfs.apply(guest) == {}
    assert guest.fs.record.is_empty()


def test_initramfs_tools_and_mkinitrd_commands(tmp_path):
    guest = make_guest(tmp_path / "a", {"6.1.0": {"ko": VIRTIO, "initrd": ["virtio_blk"]}, "6.2.0": {"ko": VIRTIO}},
                       tool=INITRAMFS_TOOLS, family="debian", commands=("update-initramfs",))
    guest.initramfs.require("virtio", VIRTIO)
    assert guest.initramfs.apply(guest) == {}
    assert guest.fs.record.commands == ["update-initramfs -u -k 6.1.0", "update-initramfs -c -k 6.2.0"]
    assert guest.fs.record.files == ["/etc/initramfs-tools/modules"]

    suse = make_guest(tmp_path / "b", {"3.0.101": {"ko": ["virtio_blk", "virtio_pci"], "initrd": []}},
                      tool=MKINITRD, family="suse", commands=("mkinitrd",))
    suse.initramfs.require("virtio", ["virtio_blk", "virtio_pci"])
    suse.initramfs.apply(suse)
    assert suse.fs.record.commands == [
        "mkinitrd -m virtio_blk virtio_pci -b /boot -k vmlinuz-3.0.101 -i initramfs-3.0.101.img"]
    assert suse.fs.record.files == ["/etc/sysconfig/kernel"]

    rhel5 = make_guest(tmp_path / "c", {"2.6.18": {"ko": ["virtio_blk", "virtio_pci"], "initrd": []}},
                       tool=MKINITRD, family="rhel", commands=("mkinitrd",))
    rhel5.initramfs.require("virtio", ["virtio_blk", "virtio_pci"])
    rhel5.initramfs.apply(rhel5)
    assert rhel5.fs.record.commands == [
        "mkinitrd -f --with=virtio_blk --with=virtio_pci /boot/initramfs-2.6.18.img 2.6.18"]


def test_missing_tool_fails_every_requester_clearly(tmp_path):
    guest = make_guest(tmp_path, {"5.14.0": {"ko": VIRTIO, "initrd": []}}, commands=())
    guest.initramfs.require("virtio", VIRTIO)
    guest.initramfs.require("nvme", ["nvme"])  # not shipped by this kernel: nothing to rebuild for it
    errors = guest.initramfs.apply(guest)
    assert errors == {"virtio": "dracut is not installed in the guest"}
    guest.facts.initramfs_tool = None
    assert "no supported initramfs tool" in guest.initramfs.apply(guest)["virtio"]


def test_modules_file_lists_each_module_once():
    text = "# comment\nvirtio-blk\nloop max_loop=8\n"
    out = initramfs_tools.modules_text(text, ["virtio_blk", "loop", "nvme"])
    assert out == text + "# Added by image-repair: drivers Alibaba Cloud ECS needs at boot.\nnvme\n"
    assert initramfs_tools.modules_text(out, ["nvme", "virtio_blk"]) == out
    assert initramfs_tools.modules_text("", ["a"]).endswith("\na\n")


def test_modules_dep_becomes_most():
    text = "# MODULES=dep\nMODULES=dep\nBUSYBOX=auto\n  MODULES='dep'  # why\nMODULES=list\n"
    assert initramfs_tools.dep_to_most_text(text) == \
        "# MODULES=dep\nMODULES=most\nBUSYBOX=auto\n  MODULES='most'  # why\nMODULES=list\n"


def test_shell_list_adds_once():
    text = 'A=1\nINITRD_MODULES="ata_piix ext3"\n'
    out = initramfs_tools.shell_list_text(text, "INITRD_MODULES", ["ext3", "virtio_blk"])
    assert out == 'A=1\nINITRD_MODULES="ata_piix ext3 virtio_blk"\n'
    assert initramfs_tools.shell_list_text(out, "INITRD_MODULES", ["virtio_blk"]) == out
    assert initramfs_tools.shell_list_text("", "INITRD_MODULES", ["x"]) == 'INITRD_MODULES="x"\n'


def test_old_dracut_without_no_hostonly_gets_the_configuration_only(tmp_path):
    guest = make_guest(tmp_path, {"2.6.32-754.el6.x86_64": {"ko": VIRTIO, "initrd": []}})
    # dracut 004 (RHEL 6) parses -H/--hostonly only; its default is generic.
    (tmp_path / "root/usr/sbin/dracut").write_text("#!/bin/bash\ncase $1 in -H|--hostonly) hostonly=yes;; esac\n")
    guest.initramfs.require("virtio", VIRTIO)
    guest.initramfs.apply(guest)
    assert guest.fs.record.commands == [
        "dracut -f --add-drivers %s /boot/initramfs-2.6.32-754.el6.x86_64.img 2.6.32-754.el6.x86_64" % " ".join(VIRTIO)]
    assert 'hostonly="no"' in guest.fs.record.diffs[0]
