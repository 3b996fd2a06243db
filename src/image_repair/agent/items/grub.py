"""GUESTOS.Grub: root by UUID, a serial console, eth0 naming, a generated grub.cfg.

What ECS needs from the kernel command line, in every place the guest keeps one (see
:mod:`..guest.bootloader`): ``console=tty0 console=ttyS0,115200n8`` (the serial console last, so
it is /dev/console: ECS's console log and VNC both work), ``net.ifnames=0 biosdevname=0`` (the NIC
is eth0, which the dhcp item configures) and a root given by UUID (or an LVM path), never by a
device name (``root=/dev/sda1`` is ``/dev/vda1`` on ECS); a ``resume=/dev/sda2`` (SUSE) becomes
``resume=UUID=`` of that swap partition, or goes when the disk has no such partition (the initrd
would wait for a device that never appears). A serial GRUB menu
(``GRUB_TERMINAL="console serial"``) is set with the fix, without being a risk of its own.
"""
import re

from ..errors import AgentError
from ..guest import grub_defaults
from ..guest import boot_entries
from ..guest.boot_entries import is_wrapper_cfg
from ..guest.kernel_cmdline import (DEFAULT_GRUB, default_grub_files, describe_sources, expected_root,
                                    grub_cfg_paths, kernel_arg_sources, missing_kernel_args)
from ..guest.fstab_rewrite import partition_uuid
from ..guest.kernel_args import edit_args
from ..guest.model import GRUB2, GRUB2_BLS, GRUB_LEGACY
from .base import Detection, RepairItem

REQUIRED_ARGS = ["console=tty0", "console=ttyS0,115200n8", "net.ifnames=0", "biosdevname=0"]
SERIAL_MENU = {"GRUB_TERMINAL": "console serial",
               "GRUB_SERIAL_COMMAND": "serial --speed=115200 --unit=0 --word=8 --parity=no --stop=1"}
# root=/dev/sda1, /dev/vda2, /dev/nvme0n1p2, /dev/loop4: one name right under /dev (not
# /dev/mapper/..., /dev/disk/by-uuid/... or an LVM /dev/<vg>/<lv>)
_DEVICE_ROOT = re.compile(r"^root=/dev/[^/]+$")
_DEVICE_RESUME = re.compile(r"^resume=/dev/[^/]+$")


def device_roots(sources, pattern=_DEVICE_ROOT):
    """The distinct ``root=/dev/<name>`` arguments of the sources."""
    found = []
    for _label, words in sources:
        for word in words:
            if pattern.match(word) and word not in found:
                found.append(word)
    return found


def resume_fixes(guest, sources):
    """(add, remove) turning ``resume=/dev/sdXN`` into ``resume=UUID=`` of that partition."""
    add, remove = [], []
    for arg in device_roots(sources, _DEVICE_RESUME):
        uuid = partition_uuid(guest.layout, arg[len("resume="):])
        remove.append(arg)
        if uuid and "resume=UUID=" + uuid not in add:
            add.append("resume=UUID=" + uuid)
    return add, remove


def real_grub_cfgs(guest):
    return [p for p in grub_cfg_paths(guest) if not is_wrapper_cfg(guest.fs.read_text(p, ""))]


def problems(guest):
    """Findings that put the guest at risk (empty when healthy)."""
    facts = guest.facts
    findings = []
    sources = kernel_arg_sources(guest)
    for root_arg in device_roots(sources):
        where = [label for label, words in sources if root_arg in words]
        findings.append("root given by device name %s (%s)" % (root_arg, describe_sources(where)))
    for resume_arg in device_roots(sources, _DEVICE_RESUME):
        findings.append("resume device given by name: %s (the initrd waits for it)" % resume_arg)
    if facts.bootloader == GRUB2:
        texts = [guest.fs.read_text(p, "") for p in default_grub_files(guest.fs)]
        try:
            disabled = (grub_defaults.variable(texts, "GRUB_DISABLE_LINUX_UUID") or "").lower() == "true"
        except ValueError as error:
            disabled = False
            findings.append("%s is malformed: %s" % (DEFAULT_GRUB, error))
        if disabled:
            findings.append("GRUB_DISABLE_LINUX_UUID=true: grub-mkconfig names the root by device")
        for path in real_grub_cfgs(guest):
            text = guest.fs.read_text(path, "")
            if not boot_entries.grub_cfg_linux_args(text) and "blscfg" not in text:
                findings.append("%s has no boot entry (no linux line)" % path)
        if not real_grub_cfgs(guest):
            wrappers = grub_cfg_paths(guest)
            findings.append("no generated grub.cfg" + (" (only %s, which loads it)" % ", ".join(wrappers)
                                                       if wrappers else ""))
    findings.extend(missing_kernel_args(guest, REQUIRED_ARGS))
    misordered = [label for label, words in sources
                  if all(a in words for a in REQUIRED_ARGS) and edit_args(words, REQUIRED_ARGS) != words]
    if misordered:
        findings.append("console=tty0 must come before console=ttyS0,115200n8 in %s" % describe_sources(misordered))
    return findings


class GrubItem(RepairItem):
    name = "grub"

    def detect(self, guest):
        if guest.facts.bootloader not in (GRUB2, GRUB2_BLS, GRUB_LEGACY):
            return Detection.not_applicable("no GRUB in the guest (no /etc/default/grub, grub.cfg, "
                                            "BLS entries or menu.lst): the bootloader is not repaired")
        findings = problems(guest)
        if findings:
            return Detection.risky(findings, risk="High")
        return Detection.healthy("kernel command line: root by UUID, %s" % " ".join(REQUIRED_ARGS))

    def fix(self, guest, detection):
        sources = kernel_arg_sources(guest)
        remove = device_roots(sources)
        add = list(REQUIRED_ARGS)
        if remove and guest.facts.bootloader in (GRUB2_BLS, GRUB_LEGACY):
            # nothing regenerates the root there: it must be written, from the disk layout
            root = expected_root(guest.layout)
            if root is None:
                raise AgentError("root given by device name (%s) and the disk layout gives no UUID for /"
                                 % " ".join(remove))
            add.append("root=" + root)
        resume_add, resume_remove = resume_fixes(guest, sources)
        guest.boot.require_args(self.name, add=add + resume_add, remove=remove + resume_remove,
                                notes=detection.findings)
        if guest.facts.bootloader == GRUB2:
            terminal = grub_defaults.variable([guest.fs.read_text(p, "") for p in default_grub_files(guest.fs)],
                                              "GRUB_TERMINAL") or ""
            if "serial" not in terminal.split():
                guest.boot.require_defaults(self.name, SERIAL_MENU)


ITEM = GrubItem()
