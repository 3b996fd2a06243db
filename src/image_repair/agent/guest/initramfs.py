"""Which drivers each kernel's initramfs carries, and ONE rebuild per kernel for all items.

Items (virtio, nvme) call ``guest.initramfs.require(item, modules)`` from their fix; the engine
then calls ``apply(guest)`` once: every kernel whose initramfs lacks any required module is rebuilt
once with all of them, by the guest's own tool inside its chroot, never hostonly (a hostonly
image built on a repair host packs the repair host's drivers, not the ones ECS needs).

A module counts as present when the initramfs holds it or the kernel has it built in
(``modules.builtin`` or ``CONFIG_X=y``). A module the kernel does not ship at all cannot be added:
it is reported (``unavailable``), never required, so a rebuild cannot fail for it.

The old image is kept as ``<initrd>.image-repair-old`` until the new one is listed and found to
hold the modules; then the copy is deleted (nothing huge is left in the guest); on any failure the
old image is put back.
"""
import os
import shutil
from collections import OrderedDict

from .. import log, runner
from ..errors import AgentError
from . import cpio
from . import initramfs_tools
from .model import DRACUT, INITRAMFS_TOOLS, MKINITRD

KEEP_SUFFIX = ".image-repair-old"

# Kernel config symbols of the drivers items ask for: when ``CONFIG_<symbol>=y`` the driver is
# built in. virtio_ring is part of the virtio core (CONFIG_VIRTIO); nvme's core was split into
# nvme_core in 4.5.
CONFIG_SYMBOLS = {
    "virtio": "VIRTIO",
    "virtio_ring": "VIRTIO",
    "virtio_pci": "VIRTIO_PCI",
    "virtio_blk": "VIRTIO_BLK",
    "virtio_net": "VIRTIO_NET",
    "virtio_scsi": "SCSI_VIRTIO",
    "virtio_console": "VIRTIO_CONSOLE",
    "nvme": "BLK_DEV_NVME",
    "nvme_core": "NVME_CORE",
}


class ModuleStatus(object):
    """Where the ``wanted`` modules stand for one kernel."""

    def __init__(self, kernel, wanted):
        self.kernel = kernel
        self.wanted = list(wanted)
        self.in_initramfs = set()
        self.builtin = set()
        self.unavailable = []      # not built in and no .ko shipped: cannot be added
        self.missing = []          # shipped as a module but absent from the initramfs
        self.initramfs_exists = False

    def findings(self):
        """Human-readable lines for an item's report."""
        lines = []
        name = self.kernel.initramfs
        if self.missing:
            if self.initramfs_exists:
                lines.append("kernel %s: %s missing from %s" % (self.kernel.version, ", ".join(self.missing), name))
            else:
                lines.append("kernel %s: no initramfs %s (needs %s)" % (self.kernel.version, name, ", ".join(self.missing)))
        if self.unavailable:
            lines.append("kernel %s does not ship %s (neither a module nor built in)"
                         % (self.kernel.version, ", ".join(self.unavailable)))
        if not lines:
            parts = []
            present = [m for m in self.wanted if m in self.in_initramfs]
            builtin = [m for m in self.wanted if m in self.builtin]
            if present:
                parts.append("%s in the initramfs" % ", ".join(present))
            if builtin:
                parts.append("%s built in" % ", ".join(builtin))
            lines.append("kernel %s: %s" % (self.kernel.version, "; ".join(parts) or "nothing needed"))
        return lines


def shipped_modules(guest, version):
    """Names of the modules kernel ``version`` ships under /lib/modules/<version>."""
    base = "/lib/modules/%s" % version
    dep = guest.fs.read_text(base + "/modules.dep")
    names = set()
    if dep is not None:
        for line in dep.splitlines():
            name = cpio.module_name(line.split(":", 1)[0].strip())
            if name:
                names.add(name)
        return names
    # No modules.dep (a broken or minimal tree): look at the files themselves.
    host = guest.fs.host_path(base)
    for _folder, _dirs, files in os.walk(host):
        for file_name in files:
            name = cpio.module_name(file_name)
            if name:
                names.add(name)
    return names


def builtin_modules(guest, version, wanted):
    """Which of ``wanted`` kernel ``version`` has built in."""
    found = set()
    listing = guest.fs.read_text("/lib/modules/%s/modules.builtin" % version) or ""
    for line in listing.splitlines():
        name = cpio.module_name(line.strip())
        if name:
            found.add(name)
    config = guest.fs.read_text("/boot/config-%s" % version) or ""
    enabled = set(line.split("=", 1)[0][len("CONFIG_"):] for line in config.splitlines()
                  if line.startswith("CONFIG_") and line.rstrip().endswith("=y"))
    for module in wanted:
        if CONFIG_SYMBOLS.get(module, module.upper()) in enabled:
            found.add(module)
    return found & set(wanted)


def initramfs_modules(guest, path):
    """Module names in the guest's initramfs ``path``; cached by file identity for this run."""
    host = guest.fs.host_path(path)
    st = os.stat(host)
    key = (host, st.st_ino, st.st_size, st.st_mtime)
    cache = guest.initramfs.listing_cache
    if key not in cache:
        try:
            cache[key] = cpio.list_modules(host, guest_root=guest.root)
        except cpio.CpioError as error:
            cache[key] = cpio.module_names(_list_with_guest_tool(guest, path, error))
    return cache[key]


def _list_with_guest_tool(guest, path, error):
    """Formats the pure lister does not read (lzo, odc): ask the guest's own lister."""
    for tool in ("lsinitrd", "lsinitramfs"):
        if guest.has_command(tool):
            status, output = guest.query([tool, path])
            if status == 0:
                return [line.split()[-1] for line in output.splitlines() if line.split()]
    raise error


def module_status(guest, kernel, modules):
    """A :class:`ModuleStatus` of ``modules`` for ``kernel``."""
    wanted = [cpio.normalise(m) for m in modules]
    status = ModuleStatus(kernel, wanted)
    status.builtin = builtin_modules(guest, kernel.version, wanted)
    shipped = shipped_modules(guest, kernel.version)
    status.initramfs_exists = bool(kernel.initramfs) and guest.fs.isfile(kernel.initramfs)
    if status.initramfs_exists:
        status.in_initramfs = initramfs_modules(guest, kernel.initramfs) & set(wanted)
    for module in wanted:
        if module in status.builtin or module in status.in_initramfs:
            continue
        if module in shipped:
            status.missing.append(module)
        else:
            status.unavailable.append(module)
    return status


def has_modules_dir(guest, kernel):
    """False for kernels without /lib/modules/<version> (a dracut rescue kernel: its generic,
    non-hostonly image already carries every driver, and there is nothing to rebuild it from)."""
    return guest.fs.isdir("/lib/modules/%s" % kernel.version)


def missing_modules(guest, kernel, modules):
    """The ``modules`` the kernel ships that its initramfs lacks (built-in ones count as present)."""
    return module_status(guest, kernel, modules).missing


class InitramfsPlan(object):
    """The modules items require, rebuilt once per kernel by :meth:`apply`."""

    def __init__(self):
        self._requests = OrderedDict()  # item name -> [module]
        self.listing_cache = {}         # initramfs identity -> module names (see initramfs_modules)

    def require(self, item, modules):
        wanted = self._requests.setdefault(item, [])
        for module in modules:
            module = cpio.normalise(module)
            if module not in wanted:
                wanted.append(module)

    def requested_by(self):
        return list(self._requests)

    def modules(self):
        merged = []
        for wanted in self._requests.values():
            merged.extend(m for m in wanted if m not in merged)
        return merged

    def apply(self, guest):
        """Rebuild each kernel's initramfs that lacks a required module. Returns {item: error}."""
        rebuilds = self._rebuilds(guest)
        if not rebuilds:
            return {}
        builder, problem = _ready_builder(guest, rebuilds)
        if problem is not None:
            return dict((name, problem) for _kernel, _add, items in rebuilds for name in items)
        return _rebuild_kernels(guest, builder, rebuilds)

    def _rebuilds(self, guest):
        """[(kernel, modules to add, items that asked)] for each kernel whose initramfs lacks a
        required module that the kernel ships (built-in and unshipped ones are not added)."""
        wanted = self.modules()
        if not wanted:
            return []
        rebuilds = []
        for kernel in guest.facts.kernels:
            if not has_modules_dir(guest, kernel):
                continue
            status = module_status(guest, kernel, wanted)
            if not status.missing:
                continue
            items = [name for name, mods in self._requests.items() if set(mods) & set(status.missing)]
            to_add = [m for m in wanted if m not in status.builtin and m not in status.unavailable]
            rebuilds.append((kernel, to_add, items))
        return rebuilds


def _ready_builder(guest, rebuilds):
    """The guest's initramfs tool, with every module to add kept for its future kernels:
    ``(builder, None)``, or ``(None, why nothing can be rebuilt)``."""
    tool = guest.facts.initramfs_tool
    builder = BUILDERS.get(tool)
    if builder is None:
        return None, "no supported initramfs tool found in the guest (found: %s)" % (tool or "none")
    if not guest.has_command(builder.command):
        return None, "%s is not installed in the guest" % builder.command
    everything = []
    for _kernel, to_add, _items in rebuilds:
        everything.extend(m for m in to_add if m not in everything)
    try:
        builder.persist(guest, everything)
    except (AgentError, OSError) as error:
        return None, "keeping the drivers for future kernels: %s" % error
    return builder, None


def _rebuild_kernels(guest, builder, rebuilds):
    """Rebuild each kernel's initramfs; one that fails is an error of every item that asked for
    it (its errors on several kernels joined), and never stops the next kernel."""
    errors = {}
    for kernel, to_add, items in rebuilds:
        try:
            _rebuild(guest, builder, kernel, to_add)
        except (AgentError, OSError) as error:
            log.warn("initramfs of %s: %s", kernel.version, error)
            for name in items:
                errors[name] = "; ".join(filter(None, [errors.get(name), "kernel %s: %s" % (kernel.version, error)]))
    return errors


def _rebuild(guest, builder, kernel, modules):
    """Rebuild one kernel's initramfs, keeping the old one until the new one is verified."""
    if not kernel.initramfs:
        raise AgentError("no initramfs path known for kernel %s" % kernel.version)
    host = guest.fs.host_path(kernel.initramfs)
    keep = host + KEEP_SUFFIX
    had_old = os.path.isfile(host)
    dry = guest.dry_run or guest.read_only
    if had_old and not dry:
        try:
            shutil.copy2(host, keep)
        except (IOError, OSError) as error:
            if os.path.exists(keep):
                os.unlink(keep)
            raise AgentError("cannot keep a copy of %s before rebuilding it (is /boot full?): %s"
                             % (kernel.initramfs, error))
    try:
        for argv in builder.commands(guest, kernel, modules):
            guest.run(argv, label="rebuilding the initramfs of %s" % kernel.version)
        if dry:
            return
        if not os.path.isfile(host):
            raise AgentError("%s was not created" % kernel.initramfs)
        still = module_status(guest, kernel, modules).missing
        if still:
            raise AgentError("the rebuilt %s still lacks %s" % (kernel.initramfs, ", ".join(still)))
    except BaseException:
        if had_old and not dry:
            os.rename(keep, host)
            log.warn("initramfs of %s: the original image was put back", kernel.version)
        raise
    if had_old:
        os.unlink(keep)
    log.info("initramfs of %s rebuilt with %s", kernel.version, " ".join(modules))


class _Dracut(object):
    command = "dracut"
    CONF = "/etc/dracut.conf.d/image-repair.conf"

    def persist(self, guest, modules):
        """add_drivers for future kernels (merged with an earlier run's), and no hostonly."""
        previous = []
        for line in (guest.fs.read_text(self.CONF) or "").splitlines():
            if line.strip().startswith("add_drivers"):
                previous.extend(line.split("=", 1)[1].strip().strip('"').split())
        drivers = previous + [m for m in modules if m not in previous]
        guest.fs.write_text(self.CONF, (
            "# Written by image-repair: drivers Alibaba Cloud ECS needs at boot, for every future\n"
            "# kernel too, and a generic (not hostonly) initramfs.\n"
            'add_drivers+=" %s "\nhostonly="no"\n') % " ".join(drivers))

    def commands(self, guest, kernel, modules):
        argv = ["dracut", "-f", "--no-hostonly", "--add-drivers", " ".join(modules), kernel.initramfs, kernel.version]
        if not _dracut_knows_no_hostonly(guest):
            argv.remove("--no-hostonly")
        return [argv]


def _dracut_knows_no_hostonly(guest):
    """dracut is a shell script: old ones (RHEL 6's dracut 004) have no --no-hostonly and exit
    on unknown options; their default is already generic, and the configuration written by
    persist() says hostonly="no" to any dracut that reads it."""
    path = runner.which("dracut", root=guest.root)
    text = guest.fs.read_text(path) if path else None
    if text is None or "\0" in text[:4096]:
        return True  # not a readable script: assume a current dracut
    return "no-hostonly" in text


class _InitramfsTools(object):
    command = "update-initramfs"

    def persist(self, guest, modules):
        initramfs_tools.add_modules(guest.fs, modules)
        initramfs_tools.switch_dep_to_most(guest.fs)

    def commands(self, guest, kernel, modules):
        mode = "-u" if guest.fs.isfile(kernel.initramfs) else "-c"
        return [["update-initramfs", mode, "-k", kernel.version]]


class _Mkinitrd(object):
    """mkinitrd of RHEL 5 (``--with=``) and of old SUSE (``-m``)."""
    command = "mkinitrd"
    SUSE_SYSCONFIG = "/etc/sysconfig/kernel"

    def persist(self, guest, modules):
        if guest.facts.family == "suse":
            initramfs_tools.add_to_shell_list(guest.fs, self.SUSE_SYSCONFIG, "INITRD_MODULES", modules)
        # RHEL 5's mkinitrd reads no module list file; its --with options are given per rebuild.

    def commands(self, guest, kernel, modules):
        if guest.facts.family == "suse":
            # SUSE's mkinitrd documents -k and -i as names relative to the boot directory (-b).
            boot_dir = os.path.dirname(kernel.initramfs)
            if kernel.image and os.path.dirname(kernel.image) == boot_dir:
                return [["mkinitrd", "-m", " ".join(modules), "-b", boot_dir, "-k", os.path.basename(kernel.image),
                         "-i", os.path.basename(kernel.initramfs)]]
            return [["mkinitrd", "-m", " ".join(modules), "-k", kernel.image, "-i", kernel.initramfs]]
        return [["mkinitrd", "-f"] + ["--with=%s" % m for m in modules] + [kernel.initramfs, kernel.version]]


BUILDERS = {DRACUT: _Dracut(), INITRAMFS_TOOLS: _InitramfsTools(), MKINITRD: _Mkinitrd()}


def drivers_detection(guest, required, optional=()):
    """Where ``required`` (+ ``optional``, needed only where the kernel ships them as modules)
    stand in every kernel's initramfs: ``(at_risk, findings, blocked)``.

    ``blocked`` lists kernels that do not ship a required driver at all: a rebuild cannot help."""
    if not guest.facts.kernels:
        return True, ["no installed kernel found in /boot"], []
    at_risk, findings, blocked = False, [], []
    for kernel in guest.facts.kernels:
        if not has_modules_dir(guest, kernel):
            findings.append("kernel %s: no /lib/modules/%s (rescue kernel): skipped" % (kernel.version, kernel.version))
            continue
        status = module_status(guest, kernel, list(required) + list(optional))
        status.unavailable = [m for m in status.unavailable if m not in optional]
        if status.missing or status.unavailable:
            at_risk = True
        if status.unavailable:
            blocked.append(kernel.version)
        findings.extend(status.findings())
    return at_risk, findings, blocked


def require_drivers(guest, item_name, required, optional, what):
    """An item's fix: the initramfs rebuild is asked for ``required`` + ``optional`` where a
    kernel lacks them (the rebuild itself runs once, for every item: engine.py). Returns the
    kernels no rebuild can help (they ship no such driver: ``drivers_detection``'s ``blocked``)."""
    if not guest.facts.kernels:
        raise AgentError("no installed kernel found in /boot: no initramfs to add the %s drivers to" % what)
    at_risk, _findings, blocked = drivers_detection(guest, required, optional)
    if at_risk:
        guest.initramfs.require(item_name, list(required) + list(optional))
    return blocked
