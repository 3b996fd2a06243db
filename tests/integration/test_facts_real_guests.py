"""detect_facts on real Debian guests built with debootstrap (image_repair_lab.testimages), mounted
read-only from their disk images: the fixture trees' assumptions checked against the real thing."""
import os

import pytest

from image_repair.agent.guest.facts import detect_facts
from image_repair.agent.guestfs import GuestFS
from image_repair_lab.testimages import builder

from image_repair_lab.testimages.recipe import Recipe

from .realguests import GUESTS as REAL_GUESTS

pytestmark = pytest.mark.needs_root

# The real-guest tests' guests (MBR/GPT+UEFI, separate /boot, LVM, xfs, initramfs-tools/dracut),
# broken as they break them: the images are built once and shared through the cache. Plus a plain
# dracut guest (the LVM one's debootstrap root, another disk layout) so dracut is covered by a
# guest whose disk builds without device-mapper.
GUESTS = dict(REAL_GUESTS, **{"mbr-ext4-dracut": (Recipe(initramfs="dracut"), ["device_names"])})


@pytest.mark.parametrize("name", sorted(GUESTS))
def test_facts_of_a_real_debian_guest(name):
    recipe, breakages = GUESTS[name]
    built = builder.broken_image(recipe, breakages)
    with builder.open_image(built, read_only=True) as root:
        facts = detect_facts(GuestFS(str(root)))
        initramfs_exists = [os.path.isfile(str(root) + k.initramfs) for k in facts.kernels]
    uefi = recipe.firmware == "uefi"
    assert (facts.family, facts.distro_id, facts.version_id, facts.platform, facts.codename) == (
        "debian", "debian", "12", "Debian", "bookworm")
    assert facts.pretty_name == "Debian GNU/Linux 12 (bookworm)"
    assert facts.package_manager == "apt"
    assert facts.initramfs_tool == recipe.initramfs
    assert facts.bootloader == "grub2"
    assert facts.grub_mkconfig == "/usr/sbin/grub-mkconfig"
    assert facts.grub_cfg == ["/boot/grub/grub.cfg"]       # on UEFI, the ESP's grub.cfg is a wrapper
    assert facts.boot_mode == ("UEFI" if uefi else "BIOS")
    assert facts.architecture == "x86_64"                   # from /bin/sh -> dash's ELF header
    assert [k.version for k in facts.kernels] == built.manifest["kernels"]
    assert [k.initramfs for k in facts.kernels] == ["/boot/initrd.img-" + v for v in built.manifest["kernels"]]
    assert all(initramfs_exists)
    assert facts.network_stacks == ["ifupdown"]                  # the recipes install ifupdown
