"""Kernel arguments, /etc/default/grub and generated boot entries: the pure rewrites, golden files."""
import pytest

from image_repair.agent.guest import boot_entries, grub_defaults
from image_repair.agent.guest.kernel_args import edit_args, matches, split_args

from .golden_files import cases, check, read

# What the grub item asks for (plus a removal another item asks for).
GRUB_ADD = ["console=tty0", "console=ttyS0,115200n8", "net.ifnames=0", "biosdevname=0"]
GRUB_REMOVE = ["root=/dev/sda1", "enforcing="]


# -- kernel_args --------------------------------------------------------------------------------
def test_split_args_keeps_quoted_words_together():
    assert split_args(' ro  acpi_osi="!Windows 2012"\tquiet \'root=UUID=ab\' ') == [
        "ro", 'acpi_osi="!Windows 2012"', "quiet", "root=UUID=ab"]


@pytest.mark.parametrize("arg,spec,expected", [
    ("enforcing=1", "enforcing=", True), ("enforcing", "enforcing=", False),
    ("quiet", "quiet", True), ("quiet=1", "quiet", False),
    ("root=/dev/sda1", "root=/dev/sda1", True), ("root=/dev/sda2", "root=/dev/sda1", False),
])
def test_remove_specs(arg, spec, expected):
    assert matches(arg, spec) is expected


def test_added_value_replaces_another_value_of_the_same_name():
    assert edit_args(["ro", "nvme_core.io_timeout=255", "quiet"], ["nvme_core.io_timeout=4294967295"]) == [
        "ro", "quiet", "nvme_core.io_timeout=4294967295"]


def test_consoles_end_in_the_order_asked_tty0_then_serial():
    # ttyS0 present, tty0 missing: appending tty0 alone would make tty0 the /dev/console
    assert edit_args(["ro", "console=ttyS0,115200n8"], ["console=tty0", "console=ttyS0,115200n8"]) == [
        "ro", "console=tty0", "console=ttyS0,115200n8"]
    assert edit_args(["console=ttyS0,115200n8", "console=tty0", "ro"], ["console=tty0", "console=ttyS0,115200n8"]) == [
        "ro", "console=tty0", "console=ttyS0,115200n8"]
    # other consoles are kept: console= is multi-valued
    assert edit_args(["console=hvc0"], ["console=tty0"]) == ["console=hvc0", "console=tty0"]


def test_an_edit_already_satisfied_changes_nothing():
    words = ["console=tty0", "ro", "console=ttyS0,115200n8", "net.ifnames=0", "biosdevname=0"]
    assert edit_args(words, GRUB_ADD, GRUB_REMOVE) == words


def test_an_added_argument_wins_over_a_removal_of_its_name():
    assert edit_args(["enforcing=1"], ["enforcing=0"], ["enforcing="]) == ["enforcing=0"]


def test_removing_a_name_keeps_the_value_asked_for_in_place():
    words = ["nvme_core.io_timeout=4294967295", "quiet"]
    assert edit_args(words, ["nvme_core.io_timeout=4294967295"], ["nvme_core.io_timeout="]) == words
    assert edit_args(["nvme_core.io_timeout=255", "quiet"], ["nvme_core.io_timeout=4294967295"],
                     ["nvme_core.io_timeout="]) == ["quiet", "nvme_core.io_timeout=4294967295"]


def test_references_are_never_removed():
    assert edit_args(["$kernelopts", "quiet"], [], ["quiet", "$kernelopts"]) == ["$kernelopts"]


# -- /etc/default/grub ---------------------------------------------------------------------------
@pytest.mark.parametrize("case", [c for c in cases("grub/defaults") if c != "unterminated_quote"])
def test_default_grub_golden(case):
    text = read("grub/defaults", case + ".input")
    [new], _notes = grub_defaults.rewrite([text], GRUB_ADD, GRUB_REMOVE)
    check("grub/defaults", case, new)
    # a second run changes nothing
    assert grub_defaults.rewrite([new], GRUB_ADD, GRUB_REMOVE)[0] == [new]
    assert set(GRUB_ADD) <= set(grub_defaults.effective_args([new]))


def test_malformed_default_grub_is_refused():
    with pytest.raises(ValueError) as error:
        grub_defaults.rewrite([read("grub/defaults", "unterminated_quote.input")], GRUB_ADD)
    assert "line 1" in str(error.value)


def test_disable_linux_uuid_is_commented_with_a_note():
    [new], notes = grub_defaults.rewrite(["GRUB_DISABLE_LINUX_UUID=true\n"])
    assert new == "# image-repair: commented out, the root must be given by UUID: GRUB_DISABLE_LINUX_UUID=true\n"
    assert notes


def test_adds_go_to_the_grub_d_file_that_assigns_last():
    main = 'GRUB_CMDLINE_LINUX="quiet"\n'
    cloud = 'GRUB_CMDLINE_LINUX="console=hvc0"\n'   # overrides the main file when sourced
    new, _ = grub_defaults.rewrite([main, cloud], ["net.ifnames=0"], ["quiet"])
    assert new == ['GRUB_CMDLINE_LINUX=""\n', 'GRUB_CMDLINE_LINUX="console=hvc0 net.ifnames=0"\n']
    assert grub_defaults.effective_args(new) == ["console=hvc0", "net.ifnames=0"]


def test_settings_are_set_once_and_kept():
    text = "GRUB_TERMINAL=console\n"
    settings = {"GRUB_TERMINAL": "console serial", "GRUB_SERIAL_COMMAND": "serial --speed=115200"}
    [new], _ = grub_defaults.rewrite([text], settings=settings)
    assert new == 'GRUB_TERMINAL="console serial"\nGRUB_SERIAL_COMMAND="serial --speed=115200"\n'
    assert grub_defaults.rewrite([new], settings=settings)[0] == [new]
    assert grub_defaults.variable([new], "GRUB_TERMINAL") == "console serial"


# -- generated entries ---------------------------------------------------------------------------
GRUB_CFG = """### BEGIN /etc/grub.d/10_linux ###
menuentry 'Debian GNU/Linux' --class debian {
\tsearch --no-floppy --fs-uuid --set=root 0d7c
\techo\t'Loading Linux 6.1.0-13-amd64 ...'
\tlinux\t/boot/vmlinuz-6.1.0-13-amd64 root=/dev/loop4 ro  quiet
\tinitrd\t/boot/initrd.img-6.1.0-13-amd64
}
submenu 'Advanced options' {
\tmenuentry 'recovery' {
\t\tlinux16 /vmlinuz-6.1.0-13-amd64 root=UUID=0d7c ro single
\t}
}
"""


def test_grub_cfg_linux_lines_and_root_correction():
    assert boot_entries.grub_cfg_linux_args(GRUB_CFG) == [
        ["root=/dev/loop4", "ro", "quiet"], ["root=UUID=0d7c", "ro", "single"]]
    assert boot_entries.root_device_problems(GRUB_CFG, "UUID=0d7c") == ["/dev/loop4"]
    fixed = boot_entries.fix_root(GRUB_CFG, "UUID=0d7c")
    assert "\tlinux\t/boot/vmlinuz-6.1.0-13-amd64 ro quiet root=UUID=0d7c\n" in fixed
    assert fixed.replace("\tlinux\t/boot/vmlinuz-6.1.0-13-amd64 ro quiet root=UUID=0d7c\n",
                         "\tlinux\t/boot/vmlinuz-6.1.0-13-amd64 root=/dev/loop4 ro  quiet\n") == GRUB_CFG
    assert boot_entries.root_device_problems(fixed, "UUID=0d7c") == []


def test_efi_wrapper_cfg_is_recognised():
    wrapper = "search --no-floppy --fs-uuid --set=dev 0d7c\nset prefix=($dev)/grub2\nconfigfile $prefix/grub.cfg\n"
    assert boot_entries.is_wrapper_cfg(wrapper)
    assert not boot_entries.is_wrapper_cfg(GRUB_CFG)


def test_bls_entry_options_and_kernelopts():
    entry = "title CentOS\nversion 4.18.0\nlinux /vmlinuz-4.18.0\noptions $kernelopts $tuned_params\n"
    words = boot_entries.bls_options(entry)
    assert boot_entries.resolve_kernelopts(words, ["root=/dev/sda2", "ro"]) == ["root=/dev/sda2", "ro"]
    direct = "title x\noptions root=UUID=1 ro rhgb\r\n"
    assert boot_entries.edit_bls_entry(direct, ["console=tty0"], ["rhgb"]) == "title x\noptions root=UUID=1 ro console=tty0\r\n"
    assert boot_entries.edit_bls_entry("title x", ["ro"]) == "title x\noptions ro\n"


def test_grubenv_keeps_its_1024_byte_block():
    body = "# GRUB Environment Block\nsaved_entry=x\nkernelopts=root=/dev/sda2 ro rhgb\n"
    env = body + "#" * (1024 - len(body))
    new = boot_entries.edit_grubenv_kernelopts(env, ["console=tty0"], ["rhgb"])
    assert len(new) == 1024
    assert boot_entries.grubenv_kernelopts(new) == ["root=/dev/sda2", "ro", "console=tty0"]
    assert "saved_entry=x\n" in new
    assert boot_entries.edit_grubenv_kernelopts(new, ["console=tty0"], ["rhgb"]) == new


def test_legacy_menu_kernel_lines():
    menu = ("default=0\ntitle CentOS (2.6.32)\n\troot (hd0,0)\n"
            "\tkernel /vmlinuz-2.6.32 ro root=/dev/sda1 rd_NO_LUKS quiet\n\tinitrd /initramfs-2.6.32.img\n")
    new = boot_entries.edit_legacy_menu(menu, ["root=UUID=abc", "console=tty0"], ["root=/dev/sda1"])
    assert "\tkernel /vmlinuz-2.6.32 ro rd_NO_LUKS quiet root=UUID=abc console=tty0\n" in new
    assert "\troot (hd0,0)\n" in new  # grub's own root line is not a kernel line
    assert boot_entries.legacy_kernel_args(new) == [["ro", "rd_NO_LUKS", "quiet", "root=UUID=abc", "console=tty0"]]


def test_kernel_cmdline_file():
    assert boot_entries.edit_cmdline_file("root=UUID=1 ro\n", ["console=tty0"]) == "root=UUID=1 ro console=tty0\n"
    assert boot_entries.edit_cmdline_file("root=UUID=1 ro\n", [], ["zzz"]) == "root=UUID=1 ro\n"
