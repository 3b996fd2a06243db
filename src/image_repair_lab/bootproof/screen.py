"""The guest's VGA text screen, read through qemu's monitor: failure evidence for a guest with no
serial console.

A guest whose kernel command line lacks ``console=ttyS0`` (the ``vmware`` breakage) writes nothing
to the serial log, so a failed boot of it (initramfs giving up on its root, the ``(initramfs)``
shell) can only be seen by waiting for the timeout. Its kernel and initramfs do print to tty0,
the VGA text console: a boot with ``BootSpec.screen`` gets an ``isa-vga`` adapter (no PCI slot,
so the guest's NIC names do not change, and no PCI id a DRM driver could take over from vgacon)
and a monitor socket, and the watcher reads the text buffer every few seconds with ``pmemsave``.
The text is matched against the same failure patterns as the serial log (serial.FAILURE_PATTERNS):
the boot ends as soon as the guest itself says it has failed, never earlier.

vgacon scrolls by moving the display origin through the whole 32 KiB text window (and copies the
screen back to the start when it reaches the end), so the full window is read; the order of its
rows is not the order of the output, which the pattern match does not need.
"""
import socket
import time
from pathlib import Path

TEXT_WINDOW = 0xB8000      # the VGA colour text buffer's guest-physical address
TEXT_WINDOW_BYTES = 0x8000
COLUMNS = 80
PROMPT = b"(qemu) "


def vga_text(data: bytes) -> str:
    """Text-mode memory (character, attribute byte pairs) as lines of COLUMNS characters."""
    chars = data[0::2].decode("latin-1").replace("\x00", " ")
    rows = (chars[i:i + COLUMNS].rstrip() for i in range(0, len(chars), COLUMNS))
    return "\n".join(row for row in rows if row)


class Screen:
    """Reads the VGA text window of a running qemu through its human monitor (a unix socket)."""

    def __init__(self, monitor_socket: Path, dump_path: Path, timeout: float = 10.0):
        self.monitor_socket, self.dump_path, self.timeout = Path(monitor_socket), Path(dump_path), timeout

    def read(self) -> str:
        """The screen's text now ('' when qemu's monitor is not up yet or qemu has gone)."""
        if self.dump_path.exists():
            self.dump_path.unlink()
        try:
            self._command('pmemsave %d %d "%s"' % (TEXT_WINDOW, TEXT_WINDOW_BYTES, self.dump_path))
        except OSError:
            return ""
        return vga_text(self.dump_path.read_bytes()) if self.dump_path.exists() else ""

    def _command(self, command: str):
        """Run one monitor command and wait for its prompt (pmemsave has written the file then)."""
        deadline = time.monotonic() + self.timeout
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(self.timeout)
            conn.connect(str(self.monitor_socket))
            self._until_prompt(conn, deadline)
            conn.sendall(command.encode() + b"\n")
            self._until_prompt(conn, deadline)

    @staticmethod
    def _until_prompt(conn: socket.socket, deadline: float):
        seen = b""
        while not seen.endswith(PROMPT):
            if time.monotonic() > deadline:
                raise socket.timeout("no monitor prompt")
            data = conn.recv(4096)
            if not data:
                raise ConnectionError("the monitor closed")
            seen = (seen + data)[-64:]
