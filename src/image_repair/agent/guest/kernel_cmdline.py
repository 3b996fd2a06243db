"""Where the guest keeps kernel command lines, and what they say (read-only, no tool runs).

``read_kernel_args(guest)`` gives every argument in effect anywhere; ``kernel_arg_sources``
gives them per place (``/etc/default/grub``, each grub.cfg linux line, grubenv ``kernelopts``,
each BLS entry, ``/etc/kernel/cmdline``, each menu.lst kernel line), so an item can tell
"missing somewhere" (``missing_kernel_args``) from "present everywhere". The rewrite is
:class:`~image_repair.agent.guest.bootloader.BootPlan`'s.
"""
import os

from . import boot_entries, grub_defaults
from .. import log
from .kernel_args import arg_name, split_args
from .model import GRUB_LEGACY
from .netconf import sysconfig

DEFAULT_GRUB = "/etc/default/grub"
DEFAULT_GRUB_D = "/etc/default/grub.d"
KERNEL_CMDLINE = "/etc/kernel/cmdline"
BLS_DIR = "/boot/loader/entries"
GRUBENVS = ("/boot/grub2/grubenv", "/boot/grub/grubenv")
KNOWN_GRUB_CFGS = ("/boot/grub2/grub.cfg", "/boot/grub/grub.cfg")
# SUSE with GRUB legacy (SLES 11): kernel updates write new menu.lst entries with this variable
SUSE_BOOTLOADER = "/etc/sysconfig/bootloader"
SUSE_APPEND = "DEFAULT_APPEND"
LEGACY_MENUS = ("/boot/grub/menu.lst", "/boot/grub/grub.conf", "/boot/grub2/menu.lst")


def default_grub_files(fs):
    """Guest paths of /etc/default/grub and grub.d/*.cfg, in the order grub-mkconfig sources them."""
    paths = [DEFAULT_GRUB] if fs.isfile(DEFAULT_GRUB) else []
    return paths + [DEFAULT_GRUB_D + "/" + n for n in fs.listdir(DEFAULT_GRUB_D) if n.endswith(".cfg")]


def grub_cfg_paths(guest):
    """The guest's grub.cfg files: facts.grub_cfg, else the well-known places that exist."""
    listed = [p for p in (getattr(guest.facts, "grub_cfg", None) or []) if not _is_legacy_menu(p)]
    return listed or [p for p in KNOWN_GRUB_CFGS if guest.fs.isfile(p)]


def _is_legacy_menu(path):
    name = path.rpartition("/")[2]
    return name in ("menu.lst", "grub.conf")


def legacy_menus(guest):
    """GRUB legacy menus: the usual ones in /boot/grub and those the facts found (an EL6 UEFI
    guest keeps its grub.conf on the ESP), one per real file."""
    listed = [p for p in (getattr(guest.facts, "grub_cfg", None) or []) if _is_legacy_menu(p)]
    return legacy_menu_paths(guest.fs, extra=listed)


def bls_entry_paths(fs):
    return [BLS_DIR + "/" + n for n in fs.listdir(BLS_DIR) if n.endswith(".conf")]


def legacy_menu_paths(fs, extra=()):
    """menu.lst / grub.conf files, one per real file (menu.lst is often a link to grub.conf)."""
    seen = set()
    paths = []
    for path in tuple(LEGACY_MENUS) + tuple(extra):
        if fs.isfile(path):
            real = os.path.realpath(fs.host_path(path))
            if real not in seen:
                seen.add(real)
                paths.append(path)
    return paths


def kernel_arg_sources(guest):
    """[(label, [args])] for every place the guest keeps a kernel command line.

    Each generated entry is its own source (a grub.cfg with three linux lines gives three), so a
    caller can tell "missing somewhere" from "present everywhere"."""
    fs = guest.fs
    sources = []
    defaults = default_grub_files(fs)
    if defaults:
        texts = [fs.read_text(p, "") for p in defaults]
        try:
            sources.append((DEFAULT_GRUB, grub_defaults.effective_args(texts)))
        except ValueError as error:
            log.warn("%s cannot be read: %s", DEFAULT_GRUB, error)
    for path in grub_cfg_paths(guest):
        for number, words in enumerate(boot_entries.grub_cfg_linux_args(fs.read_text(path, "")), 1):
            sources.append(("%s linux line %d" % (path, number), words))
    kernelopts = []
    for path in GRUBENVS:
        if fs.isfile(path):
            kernelopts = boot_entries.grubenv_kernelopts(fs.read_text(path, ""))
            if kernelopts:
                sources.append((path + " kernelopts", kernelopts))
                break
    for path in bls_entry_paths(fs):
        words = boot_entries.bls_options(fs.read_text(path, ""))
        sources.append((path, boot_entries.resolve_kernelopts(words, kernelopts)))
    if fs.isfile(KERNEL_CMDLINE):
        sources.append((KERNEL_CMDLINE, split_args(fs.read_text(KERNEL_CMDLINE, ""))))
    for path in legacy_menus(guest):
        for number, words in enumerate(boot_entries.legacy_kernel_args(fs.read_text(path, "")), 1):
            sources.append(("%s kernel line %d" % (path, number), words))
    suse_append = suse_default_append(guest)
    if suse_append is not None:
        sources.append(("%s %s" % (SUSE_BOOTLOADER, SUSE_APPEND), split_args(suse_append)))
    return sources


def suse_default_append(guest):
    """DEFAULT_APPEND of /etc/sysconfig/bootloader on a GRUB legacy guest (None elsewhere)."""
    if getattr(guest.facts, "bootloader", None) != GRUB_LEGACY or not guest.fs.isfile(SUSE_BOOTLOADER):
        return None
    return sysconfig.parse(guest.fs.read_text(SUSE_BOOTLOADER, "")).get(SUSE_APPEND)


def read_kernel_args(guest):
    """Every kernel argument in effect anywhere in the guest (union of the sources, in order)."""
    args = []
    for _label, words in kernel_arg_sources(guest):
        for word in words:
            if word not in args and not word.startswith("$"):
                args.append(word)
    return args


def missing_kernel_args(guest, wanted):
    """Findings for the sources that lack one of ``wanted`` (boot entries and /etc/default/grub),
    one finding per set of missing arguments; an empty list when every source has them all."""
    by_missing = []   # [(missing args, [labels])]
    for label, words in kernel_arg_sources(guest):
        # root= is written by grub-mkconfig / the menu entry, never by these variables
        variable = label in (DEFAULT_GRUB, "%s %s" % (SUSE_BOOTLOADER, SUSE_APPEND))
        missing = [arg for arg in wanted if arg not in words and not (variable and arg_name(arg) == "root")]
        if not missing:
            continue
        for known, labels in by_missing:
            if known == missing:
                labels.append(label)
                break
        else:
            by_missing.append((missing, [label]))
    return ["%s missing from %s" % (" ".join(missing), describe_sources(labels)) for missing, labels in by_missing]


def describe_sources(labels):
    """``/boot/grub/grub.cfg (3 linux lines)`` rather than three labels."""
    out = []
    counts = {}
    for label in labels:
        for kind in (" linux line ", " kernel line "):
            if kind in label:
                path = label.split(kind)[0]
                key = (path, kind.strip())
                if key not in counts:
                    out.append(key)
                counts[key] = counts.get(key, 0) + 1
                break
        else:
            out.append(label)
    texts = []
    for entry in out:
        if isinstance(entry, tuple):
            number = counts[entry]
            texts.append("%s (%d %s%s)" % (entry[0], number, entry[1], "s" if number > 1 else ""))
        else:
            texts.append(entry)
    return ", ".join(texts)


def expected_root(layout):
    """What ``root=`` must say for the guest's root filesystem, from the disk layout (or None)."""
    for fs in (layout or {}).get("filesystems", []):
        if fs.get("mountpoint") != "/":
            continue
        if fs.get("lvm"):
            vg, lv = fs["lvm"].split("/", 1)
            return "/dev/mapper/%s-%s" % (vg.replace("-", "--"), lv.replace("-", "--"))
        if fs.get("uuid"):
            return "UUID=" + fs["uuid"]
    return None
