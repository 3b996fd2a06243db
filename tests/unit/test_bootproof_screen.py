"""The VGA text screen of a guest without a serial console (image_repair_lab.bootproof.screen)."""
from image_repair_lab.bootproof import serial
from image_repair_lab.bootproof.screen import COLUMNS, vga_text


def text_memory(rows, attribute=0x07) -> bytes:
    """VGA text-mode memory holding ``rows`` (each padded to a full row), then empty rows."""
    chars = "".join(row.ljust(COLUMNS) for row in rows) + "\x00" * COLUMNS * 3
    return bytes(b for ch in chars for b in (ord(ch), attribute))


def test_rows_of_characters_without_attributes_or_blank_rows():
    assert vga_text(text_memory(["Loading, please wait...", "", "(initramfs) "])) == \
        "Loading, please wait...\n(initramfs)"


def test_an_initramfs_failure_on_the_screen_is_a_failure():
    screen = vga_text(text_memory([
        "Begin: Waiting for root file system ... Begin: Running /scripts/local-block ...",
        "Gave up waiting for root file system device.  Common problems:",
        "ALERT!  /dev/sda1 does not exist.  Dropping to a shell!", "(initramfs)"]))
    assert serial.first_failure(screen) == "initramfs gave up waiting for root"
    assert serial.failures(screen) == ["initramfs gave up waiting for root", "initramfs dropped to a shell"]


def test_a_screen_still_booting_is_no_failure():
    assert serial.failures(vga_text(text_memory(["Begin: Waiting for root file system ..."]))) == []
