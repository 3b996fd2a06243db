"""The kernel command line: what is in effect (``read_kernel_args``) and one shared rewrite (``BootPlan``).

Items never regenerate the bootloader configuration themselves: they ask
``guest.boot.require_args(item, add=[...], remove=[...])`` and the engine calls ``apply`` once,
after every fix, so several items cost one ``grub-mkconfig`` (or one ``grubby``) per run.

Per bootloader (``facts.bootloader``):
* GRUB2: ``/etc/default/grub`` (+ ``grub.d/*.cfg``) rewritten, then ``grub2-mkconfig -o <cfg>`` /
  ``grub-mkconfig -o <cfg>`` in the chroot for each real grub.cfg (EFI wrappers that only load the
  real file are left alone); the generated linux lines are then checked: the root must be
  ``root=UUID=`` (or ``/dev/mapper/<vg>-<lv>`` for LVM). grub-mkconfig falls back to the device
  name when ``/dev/disk/by-uuid`` lacks the link, which in a chroot on a repair host gives
  ``root=/dev/loop4``: fixed in the cfg, and said in a note;
* GRUB2_BLS: ``grubby --update-kernel=ALL --args=... --remove-args=...`` (entries and grubenv),
  plus ``/etc/default/grub`` and ``/etc/kernel/cmdline`` for kernels installed later;
* GRUB_LEGACY: the kernel lines of menu.lst/grub.conf edited directly.
``root=`` is never added to ``/etc/default/grub``: grub-mkconfig writes the root itself.
Reading what is in effect (``read_kernel_args``, ``missing_kernel_args``...) is in
:mod:`.kernel_cmdline`; items import the readers from there.
"""
import os

from .. import log
from ..errors import AgentError
from . import boot_entries, grub_defaults
from .kernel_args import arg_name, edit_args, matches, split_args
from .kernel_cmdline import (BLS_DIR, DEFAULT_GRUB, GRUBENVS, KERNEL_CMDLINE, SUSE_APPEND, SUSE_BOOTLOADER,
                             bls_entry_paths, default_grub_files, describe_sources, expected_root,
                             grub_cfg_paths, kernel_arg_sources, legacy_menus, suse_default_append)
from .model import GRUB2, GRUB2_BLS, GRUB_LEGACY
from .netconf import sysconfig

# -- the shared rewrite -------------------------------------------------------------------------
class BootPlan(object):
    """Kernel arguments the items need, applied once per run."""

    def __init__(self):
        self._requests = []   # (item, add, remove, notes list or None)
        self._settings = {}   # /etc/default/grub variables (GRUB_TERMINAL...): value
        self._applied = False

    def require_args(self, item, add=(), remove=(), notes=None):
        """Ask for ``add`` to be on, and ``remove`` off, every kernel command line.

        remove entries: ``"arg=value"`` (exact), ``"name="`` (any value of name) or a bare flag.
        ``notes``: a list (e.g. the item's Detection.findings) that receives what the
        regeneration had to correct, so the item's report says it (the first item that gives
        one gets the notes)."""
        self._requests.append((item, list(add), list(remove), notes))

    def require_defaults(self, item, settings, notes=None):
        """Ask for /etc/default/grub variables (GRUB2 only), e.g. a serial grub menu."""
        self._settings.update(settings)
        self._requests.append((item, [], [], notes))

    def requested_by(self):
        names = []
        for item, _add, _remove, _notes in self._requests:
            if item not in names:
                names.append(item)
        return names

    def merged(self):
        """(add, remove) of every request; an argument one item adds is never removed for another."""
        add, remove = [], []
        for _item, item_add, item_remove, _notes in self._requests:
            add.extend(a for a in item_add if a not in add)
            remove.extend(r for r in item_remove if r not in remove)
        return add, [r for r in remove if r not in add]

    def _note(self, text):
        """Log ``text`` and add it to the findings of the first item that gave a notes list
        (items ask in ITEM_NAMES order: grub, when it runs, hears about the bootloader)."""
        log.warn("bootloader: %s", text)
        for _item, _add, _remove, notes in self._requests:
            if notes is not None:
                if text not in notes:
                    notes.append(text)
                return

    def apply(self, guest):
        """Rewrite and regenerate once. Returns {item: error} for the items whose request failed."""
        if self._applied or not self._requests:
            return {}
        self._applied = True
        bootloader = guest.facts.bootloader
        try:
            if bootloader == GRUB2:
                self._apply_grub2(guest)
            elif bootloader == GRUB2_BLS:
                self._apply_bls(guest)
            elif bootloader == GRUB_LEGACY:
                self._apply_legacy(guest)
            else:
                raise AgentError("no supported bootloader found in the guest (GRUB 2, BLS or GRUB legacy)")
        except AgentError as error:
            return dict((item, str(error)) for item in self.requested_by())
        return {}

    # -- per bootloader -------------------------------------------------------------------------
    def _rewrite_defaults(self, guest, create):
        """Edit /etc/default/grub (+ grub.d) for future regenerations. ``create``: write the file
        when the guest has none (grub-mkconfig works without it, but then ignores our arguments)."""
        add, remove = self.merged()
        add = [a for a in add if arg_name(a) != "root"]
        paths = default_grub_files(guest.fs)
        if not paths:
            if not create:
                return
            paths = [DEFAULT_GRUB]
        texts = [guest.fs.read_text(p, "") for p in paths]
        try:
            new_texts, notes = grub_defaults.rewrite(texts, add, remove, self._settings)
        except ValueError as error:
            raise AgentError("%s is malformed, not rewritten: %s" % (" or ".join(paths), error))
        for path, old, new in zip(paths, texts, new_texts):
            if new != old:
                guest.fs.write_text(path, new)
        for note in notes:
            self._note(note)

    def _apply_grub2(self, guest):
        self._rewrite_defaults(guest, create=True)
        tool = _mkconfig_tool(guest)
        targets = []
        for path in grub_cfg_paths(guest):
            text = guest.fs.read_text(path, "")
            if boot_entries.is_wrapper_cfg(text):
                continue
            targets.append(path)
        if not targets:
            targets = ["/boot/grub2/grub.cfg" if "grub2" in tool else "/boot/grub/grub.cfg"]
            self._note("no grub.cfg found: generating %s" % targets[0])
        previous = dict((path, guest.fs.read_text(path, "")) for path in targets)
        for path in targets:
            if not (guest.dry_run or guest.read_only):
                guest.fs.backup(path)   # the tool overwrites it: keep the original like any edit
            guest.run([tool, "-o", path], label=tool)
        if guest.dry_run or guest.read_only:
            return
        for path in targets:
            guest.fs.record.add_file(path)
        root = expected_root(guest.layout)
        for path in targets:
            self._check_generated(guest, path, previous[path], tool, root)

    def _check_generated(self, guest, path, previous, tool, root):
        """What grub-mkconfig wrote must boot: linux entries, the root by UUID (or LVM path).

        Debian's 10_linux writes no entry at all when / is a file-backed loop device named
        /dev/loop0-9 (a local disk image): the previous grub.cfg is then edited in place, as
        GRUB legacy menus are, rather than left without an entry."""
        text = guest.fs.read_text(path, "")
        if not boot_entries.grub_cfg_linux_args(text) and "blscfg" not in text:
            if not boot_entries.grub_cfg_linux_args(previous):
                raise AgentError("%s generated no boot entry in %s" % (tool, path))
            add, remove = self.merged()
            if root is None:  # a device-name root is only dropped when the UUID can replace it
                remove = [r for r in remove if not r.startswith("root=")]
            else:
                add = add + ["root=" + root]
            text = boot_entries.edit_grub_cfg(previous, add, remove)
            guest.fs.write_text(path, text)
            self._note("%s generated no boot entry in %s (grub's 10_linux skips a root on a file-backed "
                       "/dev/loop0-9): its previous linux lines were edited instead" % (tool, path))
        if root is None:
            return
        wrong = boot_entries.root_device_problems(text, root)
        if wrong:
            guest.fs.write_text(path, boot_entries.fix_root(text, root))
            self._note("%s named the root %s after %s: corrected to root=%s"
                       % (path, ", ".join(wrong), tool, root))

    def _apply_bls(self, guest):
        add, remove = self.merged()
        needed_add, concrete = _bls_changes(kernel_arg_sources(guest), add, remove)
        if needed_add or concrete:
            self._edit_bls_entries(guest, needed_add, concrete, add, remove)
        fs = guest.fs
        if fs.isfile(KERNEL_CMDLINE):
            text = fs.read_text(KERNEL_CMDLINE, "")
            fs.write_text(KERNEL_CMDLINE, boot_entries.edit_cmdline_file(text, add, remove))
        self._rewrite_defaults(guest, create=False)

    def _edit_bls_entries(self, guest, needed_add, concrete, add, remove):
        """``grubby --update-kernel=ALL``, its result read back; without grubby, the entries
        edited directly."""
        if not guest.has_command("grubby"):
            self._note("grubby not found in the guest: BLS entries edited directly")
            _edit_bls_directly(guest.fs, add, remove)
            return
        argv = ["grubby", "--update-kernel=ALL"]
        if needed_add:
            argv.append("--args=" + " ".join(needed_add))
        if concrete:
            argv.append("--remove-args=" + " ".join(concrete))
        guest.run(argv, label="grubby")
        if not (guest.dry_run or guest.read_only):
            self._check_bls(guest, add, remove)

    def _check_bls(self, guest, add, remove):
        """grubby's result, read back. RHEL's grubby-bls replaces the first ``key=`` when adding
        ``key=value`` (``console=ttyS0,115200n8`` replaces ``console=tty0`` instead of joining it)
        and, in some versions, edits ``$kernelopts`` entries literally: whatever it left
        undone is edited directly, and said."""
        wrong = [label for label, words in kernel_arg_sources(guest)
                 if label.startswith(BLS_DIR) and edit_args(words, add, remove) != words]
        if wrong:
            _edit_bls_directly(guest.fs, add, remove)
            self._note("grubby left %s short of the arguments asked for: edited directly" % describe_sources(wrong))

    def _apply_legacy(self, guest):
        add, remove = self.merged()
        paths = legacy_menus(guest)
        if not paths:
            raise AgentError("GRUB legacy: no menu.lst or grub.conf in /boot/grub or on the ESP")
        for path in paths:
            text = guest.fs.read_text(path, "")
            guest.fs.write_text(path, boot_entries.edit_legacy_menu(text, add, remove))
        append = suse_default_append(guest)
        if append is not None:
            # SLES 11 writes the entries of kernels installed later with DEFAULT_APPEND
            words = split_args(append)
            new = edit_args(words, [a for a in add if arg_name(a) != "root"], remove)
            if new != words:
                text = guest.fs.read_text(SUSE_BOOTLOADER, "")
                guest.fs.write_text(SUSE_BOOTLOADER, sysconfig.edit(text, {SUSE_APPEND: " ".join(new)}, ()))


def _bls_changes(sources, add, remove):
    """What grubby is asked for: ``(arguments some BLS entry lacks, words to remove)``. grubby
    wants concrete arguments: a ``name=`` spec becomes the values present in the entries (or in
    grubenv's kernelopts)."""
    entries = [words for label, words in sources if label.startswith(BLS_DIR)]
    entry_words = [w for label, words in sources if label.startswith(BLS_DIR) or "kernelopts" in label
                   for w in words]
    concrete = []
    for spec in remove:
        concrete.extend(w for w in entry_words if matches(w, spec) and w not in concrete)
    needed_add = [a for a in add if any(a not in words for words in entries)]
    return needed_add, concrete


def _edit_bls_directly(fs, add, remove):
    """What grubby does: grubenv's kernelopts, then each entry (an entry that says
    ``$kernelopts`` gets only what kernelopts does not already give it)."""
    kernelopts = []
    for path in GRUBENVS:
        if fs.isfile(path):
            text = fs.read_text(path, "")
            if boot_entries.grubenv_kernelopts(text):
                fs.write_text(path, boot_entries.edit_grubenv_kernelopts(text, add, remove))
                kernelopts = boot_entries.grubenv_kernelopts(fs.read_text(path, ""))
                break
    for path in bls_entry_paths(fs):
        text = fs.read_text(path, "")
        words = boot_entries.bls_options(text)
        own_add = add
        if "$kernelopts" in words or "${kernelopts}" in words:
            own_add = [a for a in add if a not in kernelopts]
        fs.write_text(path, boot_entries.edit_bls_entry(text, own_add, remove))


def _mkconfig_tool(guest):
    """The guest's grub-mkconfig (its name, run from the chroot's PATH)."""
    configured = getattr(guest.facts, "grub_mkconfig", None)
    if configured:
        return os.path.basename(configured)
    for name in ("grub2-mkconfig", "grub-mkconfig"):
        if guest.has_command(name):
            return name
    raise AgentError("GRUB 2 guest without grub-mkconfig or grub2-mkconfig: cannot regenerate grub.cfg")
