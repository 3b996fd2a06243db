"""How the guest boots: which GRUB, its generated configuration files, BIOS or UEFI.

Read from files only. The rules, in the order a distribution's installer leaves them:

* GRUB 2 with BootLoaderSpec entries (Fedora 30+, RHEL 8+): ``/boot/loader/entries/*.conf`` and
  ``GRUB_ENABLE_BLSCFG=true`` (or a grub.cfg that runs ``blscfg``); edited with grubby;
* GRUB 2: grub(2)-mkconfig, ``/etc/default/grub`` or a generated grub.cfg;
* GRUB legacy: ``menu.lst`` / ``grub.conf`` and none of the above (CentOS 6, SLES 11);
* UEFI when the ESP holds a bootloader *and* the system is set up to use it (Debian: a
  ``grub-efi-*`` package installed; others: a grub configuration in an ESP vendor directory and
  no BIOS core image in /boot). A hybrid guest (both set up) boots either way: BIOS is reported,
  the mode ECS instances use by default. When the ESP's files cannot be seen (this repair host's
  kernel may lack vfat) but fstab mounts one, the same rules run on what /boot and dpkg say.
  arm64 guests are always UEFI.
"""
import os
import re

from .. import runner
from . import boot_entries, grub_defaults
from .distro import dpkg_packages
from .fstab_rewrite import Entry
from .kernel_cmdline import BLS_DIR, DEFAULT_GRUB, KNOWN_GRUB_CFGS, default_grub_files, legacy_menu_paths
from .model import DEBIAN, GRUB2, GRUB2_BLS, GRUB_LEGACY

EFI_DIR = "/boot/efi/EFI"
# Bootloader binaries an ESP vendor directory holds (x86_64 and arm64; SUSE: shim.efi, grub.efi).
EFI_LOADERS = ("shimx64.efi", "grubx64.efi", "bootx64.efi", "shimaa64.efi", "grubaa64.efi", "bootaa64.efi",
               "shim.efi", "grub.efi", "mmx64.efi")
EFI_MENUS = ("grub.cfg", "grub.conf")
BIOS_CORES = ("/boot/grub2/i386-pc", "/boot/grub/i386-pc")
# grub-install --target=x86_64-efi (Debian, SUSE) copies its modules here.
EFI_CORES = ("/boot/grub2/x86_64-efi", "/boot/grub/x86_64-efi", "/boot/grub2/arm64-efi", "/boot/grub/arm64-efi")
ESP_MOUNTPOINTS = ("/boot/efi", "/efi")
MKCONFIG_TOOLS = ("grub2-mkconfig", "grub-mkconfig")
# The SUSE ESP grub.cfg loads /boot's with `source "${prefix}/grub.cfg"` instead of configfile.
_SOURCE_LINE = re.compile(r"^\s*source\s+\S*grub\.cfg", re.M)


class BootFacts(object):
    def __init__(self):
        self.bootloader = None
        self.grub_cfg = []
        self.grub_mkconfig = None
        self.boot_mode = "BIOS"


def _guest_path(fs, path):
    """The guest path a guest path really names, after its symlinks (guest root as /)."""
    host = os.path.realpath(fs.host_path(path))
    root = os.path.realpath(fs.root)
    return "/" + os.path.relpath(host, root) if host != root else "/"


def is_wrapper(text):
    """An ESP grub.cfg that only loads the real one (Fedora 34+/RHEL 9, Debian, Ubuntu, SUSE)."""
    if boot_entries.is_wrapper_cfg(text):
        return True
    text = text or ""
    return (bool(_SOURCE_LINE.search(text)) and "### BEGIN /etc/grub.d" not in text
            and "blscfg" not in text and not boot_entries.grub_cfg_linux_args(text))


def _esp_files(fs, names):
    """Guest paths of the files called one of ``names`` (any case) in the ESP's vendor directories."""
    found = []
    for vendor in fs.listdir(EFI_DIR):
        for name in fs.listdir(EFI_DIR + "/" + vendor):
            if name.lower() in names and fs.isfile(EFI_DIR + "/" + vendor + "/" + name):
                found.append(EFI_DIR + "/" + vendor + "/" + name)
    return found


def esp_menus(fs):
    """Guest paths of the grub.cfg / grub.conf files in the ESP's vendor directories."""
    return _esp_files(fs, EFI_MENUS)


def esp_loaders(fs):
    """Guest paths of the EFI bootloaders (grubx64.efi, shimx64.efi, BOOTX64.EFI...) in the ESP."""
    return _esp_files(fs, EFI_LOADERS)


def _unique_real(fs, paths):
    out = []
    for path in paths:
        real = _guest_path(fs, path)
        if real not in out:
            out.append(real)
    return out


def _bls_enabled(fs, cfg_texts):
    texts = [fs.read_text(p, "") for p in default_grub_files(fs)]
    try:
        value = grub_defaults.variable(texts, "GRUB_ENABLE_BLSCFG")
    except ValueError:
        value = None
    if value is not None:
        return value.strip().lower() == "true"
    return any(re.search(r"^\s*blscfg\s*$", text, re.M) for text in cfg_texts)


def detect_boot(fs, family, architecture=None):
    """A :class:`BootFacts` for the guest whose distribution ``family`` (and CPU) is known."""
    facts = BootFacts()
    facts.grub_mkconfig = next(filter(None, (runner.which(t, root=fs.root) for t in MKCONFIG_TOOLS)), None)
    menus = esp_menus(fs)
    grub2_cfgs = [p for p in KNOWN_GRUB_CFGS if fs.isfile(p)]
    esp_cfgs = [p for p in menus if p.lower().endswith(".cfg")]
    real_esp_cfgs = [p for p in esp_cfgs if not is_wrapper(fs.read_text(p, ""))]
    if facts.grub_mkconfig or fs.isfile(DEFAULT_GRUB) or grub2_cfgs or esp_cfgs:
        facts.grub_cfg = _unique_real(fs, grub2_cfgs + real_esp_cfgs)
        entries = [n for n in fs.listdir(BLS_DIR) if n.endswith(".conf")]
        cfg_texts = [fs.read_text(p, "") for p in facts.grub_cfg]
        facts.bootloader = GRUB2_BLS if entries and _bls_enabled(fs, cfg_texts) else GRUB2
    else:
        legacy = legacy_menu_paths(fs) + [p for p in menus if p.lower().endswith(".conf")]
        if legacy:
            facts.bootloader = GRUB_LEGACY
            facts.grub_cfg = _unique_real(fs, legacy)
    facts.boot_mode = _boot_mode(fs, family, menus, architecture)
    return facts


def fstab_mounts_esp(fs):
    """True when the guest's fstab mounts an EFI system partition (/boot/efi or /efi)."""
    for line in (fs.read_text("/etc/fstab", "") or "").splitlines():
        if line.strip() and not line.lstrip().startswith("#") and Entry(line).get(1) in ESP_MOUNTPOINTS:
            return True
    return False


def _boot_mode(fs, family, menus, architecture):
    if architecture == "arm64":
        return "UEFI"   # arm64 GRUB has no BIOS flavour (and ECS arm64 instances boot UEFI only)
    esp_seen = bool(esp_loaders(fs))
    # The ESP can be invisible although the guest has one: not mounted because the repair host's
    # kernel has no vfat, or a bare root tree. Then fstab says an ESP exists.
    esp_unseen = not fs.listdir(EFI_DIR) and fstab_mounts_esp(fs)
    if not (esp_seen or esp_unseen):
        return "BIOS"
    packages = dpkg_packages(fs) if family == DEBIAN else None
    if packages:
        grub_packages = [name for name in packages if name.startswith("grub-efi-") or name == "grub-pc"]
        if grub_packages:
            efi = any(name.startswith("grub-efi-") and not name.endswith(("-bin", "-dbg"))
                      for name in grub_packages)
            return "UEFI" if efi and "grub-pc" not in packages else "BIOS"
    efi_setup = bool(menus) or esp_unseen or any(fs.isdir(p) for p in EFI_CORES)
    if efi_setup and not any(fs.isdir(p) for p in BIOS_CORES):
        return "UEFI"
    return "BIOS"
