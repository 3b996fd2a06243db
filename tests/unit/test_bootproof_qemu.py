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


def _write_boot(workdir, name, log_text, ended):
    from image_repair_lab.bootproof import serial
    from image_repair_lab.bootproof.qemu import BootResult
    log = workdir / ("%s.serial.log" % name)
    log.write_text(log_text)
    return BootResult(spec=BootSpec("disk.img"), serial_log=log, seconds=1.0, ended=ended, exit_status=0,
                      report=serial.parse(log_text))


@pytest.mark.parametrize("second_is_a_fault_too", [False, True])
def test_a_boot_qemu_crashed_is_booted_once_more_and_kept(tmp_path, monkeypatch, second_is_a_fault_too):
    """qemu's TCG cannot be made to fault on demand, so the one qemu run is replaced here by one that
    writes the real faulted log (the policy under test is boot()'s, around it): the faulted boot's
    log is kept and named, the guest booted again once; a second fault is the boot's result."""
    from pathlib import Path

    from image_repair_lab.bootproof import qemu
    fault = (Path(__file__).parent / "data" / "bootproof" / "tcg-double-fault-before-init.serial.log").read_text(
        errors="replace")
    runs = []

    def one_boot(spec, workdir, name):
        runs.append(name)
        faulted = len(runs) == 1 or second_is_a_fault_too
        return _write_boot(workdir, name, fault if faulted else "IMAGE-REPAIR-BOOT end\n",
                           "failure" if faulted else "marker")

    monkeypatch.setattr(qemu, "_boot_once", one_boot)
    result = qemu.boot(BootSpec("disk.img"), tmp_path, "after-nvme")
    assert runs == ["after-nvme", "after-nvme"]
    kept = tmp_path / "after-nvme.emulator-fault-1.serial.log"
    assert kept.read_text(errors="replace") == fault
    assert len(result.emulator_faults) == 1 and result.emulator_faults[0].startswith(str(kept))
    assert result.serial_log == tmp_path / "after-nvme.serial.log"
    assert result.ended == ("failure" if second_is_a_fault_too else "marker")


def test_a_guests_own_failure_is_not_booted_again(tmp_path, monkeypatch):
    from image_repair_lab.bootproof import qemu
    runs = []

    def one_boot(spec, workdir, name):
        runs.append(name)
        return _write_boot(workdir, name, "Run /init as init process\nGave up waiting for root file system device.\n",
                           "failure")

    monkeypatch.setattr(qemu, "_boot_once", one_boot)
    result = qemu.boot(BootSpec("disk.img"), tmp_path, "before")
    assert runs == ["before"] and result.emulator_faults == []
