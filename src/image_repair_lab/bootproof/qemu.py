"""Boot a disk image in ``qemu-system-x86_64 -accel tcg`` and read what it wrote to ttyS0.

:func:`qemu_command` builds the command line (pure, unit-tested): the disk on ``-drive
if=virtio`` or ``-device nvme``, SeaBIOS or OVMF (read-only code, a fresh copy of the variable
store per boot), 1 GiB, user-mode networking with DHCP at 10.0.2.15 and, when a metadata port is
given, ``guestfwd`` mapping 100.100.100.200:80 to it through :mod:`.relay` and the SMBIOS product
name of an ECS instance (cloud-init's AliYun datasource checks it).

libslirp accepts a ``guestfwd`` address only inside the user network, and no netmask qemu allows
(/4../32) covers both 10.0.2.0 and 100.100.100.200. So a boot with the metadata service uses the
user network 100.100.100.0/24 (DHCP gives 100.100.100.15, the gateway is 100.100.100.2) and every
other boot qemu's default 10.0.2.0/24 (DHCP gives 10.0.2.15): :func:`dhcp_address` says which. :func:`boot` runs it with a
timeout, stops it early once the marker is complete or the log (or, with ``screen``, the guest's
VGA text screen, see :mod:`.screen`) shows a failed boot, and never leaves qemu running.
"""
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from . import serial
from .screen import Screen

BUSES = ("virtio", "nvme")
FIRMWARES = ("bios", "uefi")
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
METADATA_ADDRESS = "100.100.100.200"
METADATA_NETWORK = "100.100.100.0/24"
ECS_SMBIOS = "type=1,manufacturer=Alibaba Cloud,product=Alibaba Cloud ECS"
DEFAULT_DHCP_ADDRESS = "10.0.2.15"
METADATA_DHCP_ADDRESS = "100.100.100.15"
DISK_SERIAL = "bootproof-disk0"


@dataclass
class BootSpec:
    image: Path
    bus: str = "virtio"
    firmware: str = "bios"
    memory_mib: int = 1024
    # The boot's budget, in qemu's CPU seconds when /proc gives them (under TCG the guest's work is
    # qemu's CPU time: on a machine shared with other jobs a boot takes longer in wall time, not in
    # CPU time), and at most WALL_CAP times as long in wall time (a guest that idles).
    timeout: float = 300.0
    metadata_port: Optional[int] = None
    disk_format: str = "raw"
    # Seconds to keep reading after a failure pattern shows (for the log's context), and to wait
    # for the poweroff after the marker's last line.
    failure_grace: float = 2.0
    poweroff_grace: float = 30.0
    # Also watch the VGA text screen for failure signs (a guest without a serial console; SeaBIOS
    # only: the isa-vga adapter has no UEFI driver), every screen_interval seconds.
    screen: bool = False
    screen_interval: float = 5.0

    def __post_init__(self):
        if self.bus not in BUSES:
            raise ValueError("bus %r: expected one of %s" % (self.bus, ", ".join(BUSES)))
        if self.firmware not in FIRMWARES:
            raise ValueError("firmware %r: expected one of %s" % (self.firmware, ", ".join(FIRMWARES)))
        if self.screen and self.firmware != "bios":
            raise ValueError("screen: the VGA text screen is read on SeaBIOS (bios) boots only")
        self.image = Path(self.image)


@dataclass
class BootResult:
    spec: BootSpec
    serial_log: Path
    seconds: float
    ended: str              # "poweroff", "marker", "failure", "timeout", "qemu-error"
    exit_status: Optional[int]
    report: serial.BootReport
    qemu_output: str = ""
    cpu_seconds: Optional[float] = None   # qemu's user+system CPU time (sampled every 0.5 s)
    screen_text: str = ""                 # the last VGA text screen read (BootSpec.screen)
    # Boots discarded as qemu's fault (serial.emulator_fault): "<kept log>: <why>", at most one.
    emulator_faults: list = field(default_factory=list)

    def text(self) -> str:
        return self.serial_log.read_text(errors="replace") if self.serial_log.exists() else ""


def dhcp_address(spec: BootSpec) -> str:
    """The address qemu's DHCP server gives the guest's first NIC in this boot."""
    return METADATA_DHCP_ADDRESS if spec.metadata_port else DEFAULT_DHCP_ADDRESS


def qemu_command(spec: BootSpec, serial_log: Path, ovmf_vars: Optional[Path] = None,
                 python: str = sys.executable, monitor_socket: Optional[Path] = None) -> list:
    monitor = "none"
    if spec.screen:
        if monitor_socket is None:
            raise ValueError("a boot that reads the screen needs a monitor socket")
        monitor = "unix:%s,server=on,wait=off" % monitor_socket
    argv = ["qemu-system-x86_64", "-accel", "tcg", "-machine", "pc", "-m", str(spec.memory_mib), "-smp", "1",
            "-display", "none", "-vga", "none", "-monitor", monitor, "-no-reboot",
            "-serial", "file:%s" % serial_log]
    if spec.screen:
        argv += ["-device", "isa-vga"]
    if spec.firmware == "uefi":
        if ovmf_vars is None:
            raise ValueError("a UEFI boot needs its own copy of the OVMF variable store")
        argv += ["-drive", "if=pflash,format=raw,unit=0,readonly=on,file=%s" % OVMF_CODE,
                 "-drive", "if=pflash,format=raw,unit=1,file=%s" % ovmf_vars]
    drive = "file=%s,format=%s,cache=unsafe" % (spec.image, spec.disk_format)
    if spec.bus == "virtio":
        argv += ["-drive", drive + ",if=virtio"]
    else:
        argv += ["-drive", drive + ",if=none,id=disk0", "-device", "nvme,drive=disk0,serial=" + DISK_SERIAL]
    netdev = "user,id=net0"
    if spec.metadata_port:
        # One relay process per guest connection (see relay.py); libslirp splits the command on spaces.
        netdev += ",net=%s,host=100.100.100.2,dns=100.100.100.3,dhcpstart=%s" % (METADATA_NETWORK, METADATA_DHCP_ADDRESS)
        netdev += ",guestfwd=tcp:%s:80-cmd:%s -m image_repair_lab.bootproof.relay %d" % (
            METADATA_ADDRESS, python, spec.metadata_port)
        argv += ["-smbios", ECS_SMBIOS]
    argv += ["-netdev", netdev, "-device", "virtio-net-pci,netdev=net0"]
    return argv


EMULATOR_FAULT_RETRIES = 1


def boot(spec: BootSpec, workdir: Path, name: str = "boot") -> BootResult:
    """Boot; the serial log is ``workdir/<name>.serial.log``. qemu is always gone on return.

    A boot whose kernel crashed before init (serial.emulator_fault: TCG's fault, the disk is not
    read yet, so not written either) is booted once more; its log is kept as
    ``<name>.emulator-fault-<n>.serial.log`` and named in the result, never hidden."""
    faults = []
    while True:
        result = _boot_once(spec, workdir, name)
        why = serial.emulator_fault(result.text()) if result.ended == "failure" else None
        if why is None or len(faults) >= EMULATOR_FAULT_RETRIES:
            result.emulator_faults = faults
            return result
        kept = result.serial_log.with_name("%s.emulator-fault-%d.serial.log" % (name, len(faults) + 1))
        result.serial_log.replace(kept)
        faults.append("%s: %s" % (kept, why))


def _boot_once(spec: BootSpec, workdir: Path, name: str) -> BootResult:
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / ("%s.serial.log" % name)
    if log_path.exists():
        log_path.unlink()
    ovmf_vars = None
    if spec.firmware == "uefi":
        ovmf_vars = workdir / ("%s.OVMF_VARS.fd" % name)
        shutil.copyfile(OVMF_VARS, ovmf_vars)
    # A unix socket path must be short (108 bytes): the monitor's lives in a private /tmp directory.
    monitor_dir = Path(tempfile.mkdtemp(prefix="bootproof-")) if spec.screen else None
    monitor_socket = monitor_dir / "monitor.sock" if monitor_dir else None
    argv = qemu_command(spec, log_path, ovmf_vars, monitor_socket=monitor_socket)
    (workdir / ("%s.qemu-command" % name)).write_text(" ".join(argv) + "\n")
    output_path = workdir / ("%s.qemu-output" % name)
    env = dict(os.environ, PYTHONPATH=_package_parent() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    screen = Screen(monitor_socket, workdir / ("%s.screen.bin" % name)) if spec.screen else None
    watch = _Watch()
    started = time.monotonic()
    try:
        with open(output_path, "w") as output:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                       start_new_session=True, env=env, preexec_fn=_die_with_parent)
            try:
                ended = _watch(process, spec, log_path, started, watch, screen)
            finally:
                _stop(process)
    finally:
        if monitor_dir:
            shutil.rmtree(monitor_dir, ignore_errors=True)
    seconds = round(time.monotonic() - started, 1)
    qemu_output = output_path.read_text(errors="replace")
    if ended == "poweroff" and process.returncode != 0:
        ended = "qemu-error"
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    report = serial.parse(text)
    if screen is not None:
        (workdir / ("%s.screen.txt" % name)).write_text(watch.screen_text + "\n")
        report.failures += ["%s (VGA screen)" % failure for failure in serial.failures(watch.screen_text)]
    return BootResult(spec=spec, serial_log=log_path, seconds=seconds, ended=ended, exit_status=process.returncode,
                      report=report, qemu_output=qemu_output, cpu_seconds=watch.cpu_seconds,
                      screen_text=watch.screen_text)


WALL_CAP = 3.0


def _out_of_time(spec: BootSpec, started: float, now: float, cpu_seconds: Optional[float]) -> bool:
    if now >= started + WALL_CAP * spec.timeout:
        return True
    if cpu_seconds is None:            # no /proc reading: wall time, as the budget says
        return now >= started + spec.timeout
    return cpu_seconds >= spec.timeout


class _Watch:
    """What the watcher saw besides the serial log: qemu's CPU time and the last screen text."""

    def __init__(self):
        self.cpu_seconds = None
        self.screen_text = ""
        self.next_screen = 0.0


def _watch(process: subprocess.Popen, spec: BootSpec, log_path: Path, started: float, watch: _Watch,
           screen: Optional[Screen] = None) -> str:
    """Wait for poweroff; returns why the wait ended. Reads the log incrementally (it grows)."""
    deadline = started + WALL_CAP * spec.timeout     # for the serial log's creation only
    stop_at, reason = None, None
    text = ""
    with _open_when_created(log_path, process, deadline) as handle:
        while True:
            watch.cpu_seconds = _cpu_seconds(process.pid, watch.cpu_seconds)
            if process.poll() is not None:
                return "failure" if reason == "failure" else "poweroff"
            now = time.monotonic()
            if stop_at is not None and now >= stop_at:
                return reason
            if _out_of_time(spec, started, now, watch.cpu_seconds):
                return "timeout"
            if handle is not None:
                text += handle.read()
                if reason is None and serial.marker_complete(text):
                    stop_at, reason = now + spec.poweroff_grace, "marker"
                elif reason is None and serial.first_failure(text):
                    stop_at, reason = now + spec.failure_grace, "failure"
            if screen is not None and reason is None and now >= watch.next_screen:
                watch.screen_text = screen.read() or watch.screen_text
                watch.next_screen = now + spec.screen_interval
                if serial.first_failure(watch.screen_text):
                    stop_at, reason = now + spec.failure_grace, "failure"
            time.sleep(0.5)


def _cpu_seconds(pid: int, previous: Optional[float]) -> Optional[float]:
    """qemu's user+system CPU seconds from /proc (the last reading once it has exited)."""
    try:
        fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return previous
    if fields[0] == "Z":
        return previous
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 1)


class _open_when_created:
    """The serial log opened for reading once qemu has created it (None until then is fine)."""

    def __init__(self, path: Path, process, deadline: float):
        self.path, self.process, self.deadline = path, process, deadline
        self.handle = None

    def __enter__(self):
        while not self.path.exists() and self.process.poll() is None and time.monotonic() < self.deadline:
            time.sleep(0.1)
        if self.path.exists():
            self.handle = open(self.path, "r", errors="replace")
        return self.handle

    def __exit__(self, *exc):
        if self.handle:
            self.handle.close()
        return False


def _die_with_parent():
    """In the child before exec: SIGKILL qemu if this process dies (even by SIGKILL), so that no
    qemu outlives a killed test run (PR_SET_PDEATHSIG; Linux only, as qemu -accel tcg here)."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _stop(process: subprocess.Popen):
    """SIGTERM the qemu process group, then SIGKILL; reap it."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _package_parent() -> str:
    """The directory holding the image_repair package (for the relay that qemu starts)."""
    return str(Path(__file__).resolve().parents[2])
