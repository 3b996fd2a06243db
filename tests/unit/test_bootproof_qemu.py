"""qemu command lines of the boot proof (image_repair_lab.bootproof.qemu)."""
import sys

import pytest

from image_repair_lab.bootproof.qemu import BootSpec, dhcp_address, qemu_command


def option(argv, name):
    """Every value following ``name`` in ``argv``."""
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == name]


def test_virtio_bios_default_network():
    argv = qemu_command(BootSpec("/img/disk.img"), "/work/serial.log")
    assert argv[0] == "qemu-system-x86_64"
    assert option(argv, "-accel") == ["tcg"]
    assert option(argv, "-m") == ["1024"]
    assert option(argv, "-drive") == ["file=/img/disk.img,format=raw,cache=unsafe,if=virtio"]
    assert option(argv, "-serial") == ["file:/work/serial.log"]
    assert option(argv, "-netdev") == ["user,id=net0"]
    assert option(argv, "-device") == ["virtio-net-pci,netdev=net0"]
    assert "-no-reboot" in argv and "-smbios" not in argv
    assert not any("pflash" in d for d in option(argv, "-drive"))
    assert dhcp_address(BootSpec("/img/disk.img")) == "10.0.2.15"


def test_nvme_uefi_with_metadata():
    spec = BootSpec("/img/disk.img", bus="nvme", firmware="uefi", metadata_port=4321)
    argv = qemu_command(spec, "/work/s.log", ovmf_vars="/work/vars.fd", python="/venv/bin/python")
    drives = option(argv, "-drive")
    assert drives[0] == "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd"
    assert drives[1] == "if=pflash,format=raw,unit=1,file=/work/vars.fd"
    assert drives[2] == "file=/img/disk.img,format=raw,cache=unsafe,if=none,id=disk0"
    assert option(argv, "-device")[0] == "nvme,drive=disk0,serial=bootproof-disk0"
    assert option(argv, "-netdev") == [
        "user,id=net0,net=100.100.100.0/24,host=100.100.100.2,dns=100.100.100.3,dhcpstart=100.100.100.15,"
        "guestfwd=tcp:100.100.100.200:80-cmd:/venv/bin/python -m image_repair_lab.bootproof.relay 4321"]
    assert option(argv, "-smbios") == ["type=1,manufacturer=Alibaba Cloud,product=Alibaba Cloud ECS"]
    assert dhcp_address(spec) == "100.100.100.15"


def test_uefi_needs_a_vars_copy():
    with pytest.raises(ValueError, match="variable store"):
        qemu_command(BootSpec("/img/disk.img", firmware="uefi"), "/work/s.log")


@pytest.mark.parametrize("field,value", [("bus", "scsi"), ("firmware", "coreboot")])
def test_bad_spec_refused(field, value):
    with pytest.raises(ValueError, match=field):
        BootSpec("/img/disk.img", **{field: value})


def test_relay_uses_this_interpreter_by_default():
    argv = qemu_command(BootSpec("/img/d.img", metadata_port=1), "/s.log")
    assert ("cmd:%s -m image_repair_lab.bootproof.relay 1" % sys.executable) in option(argv, "-netdev")[0]


def test_screen_adds_an_isa_vga_and_a_monitor_socket():
    spec = BootSpec("/img/d.img", screen=True)
    argv = qemu_command(spec, "/s.log", monitor_socket="/tmp/x/monitor.sock")
    assert option(argv, "-monitor") == ["unix:/tmp/x/monitor.sock,server=on,wait=off"]
    # isa-vga, not a PCI VGA: the NIC keeps its PCI slot (and its predictable name)
    assert "isa-vga" in option(argv, "-device") and option(argv, "-vga") == ["none"]
    with pytest.raises(ValueError, match="monitor socket"):
        qemu_command(spec, "/s.log")
    with pytest.raises(ValueError, match="screen"):
        BootSpec("/img/d.img", firmware="uefi", screen=True)
    assert option(qemu_command(BootSpec("/img/d.img"), "/s.log"), "-monitor") == ["none"]


def test_a_boots_budget_is_qemus_cpu_time_with_a_wall_cap():
    """On a shared machine a TCG boot takes longer in wall time, not in qemu's CPU time: the budget
    counts CPU seconds (wall seconds when /proc gives none), and a guest that idles still ends at
    WALL_CAP times the budget."""
    from image_repair_lab.bootproof.qemu import WALL_CAP, BootSpec, _out_of_time
    spec = BootSpec("disk.img", timeout=240.0)
    assert not _out_of_time(spec, 0.0, 300.0, cpu_seconds=90.0)     # loaded machine: 90 s of CPU in 300 s
    assert _out_of_time(spec, 0.0, 250.0, cpu_seconds=240.0)
    assert _out_of_time(spec, 0.0, WALL_CAP * 240.0, cpu_seconds=10.0)
    assert _out_of_time(spec, 0.0, 240.0, cpu_seconds=None) and not _out_of_time(spec, 0.0, 239.0, None)
