"""The debootstrap root of a recipe, cached as ``roots/<root_key>.tar.zst``.

debootstrap --variant=minbase with the kernel, systemd, the bootloader package, the network tools
and lvm2/xfsprogs; dracut guests get dracut afterwards with apt inside the chroot (debootstrap's
resolver takes the first alternative of the kernel's ``initramfs-tools | linux-initramfs-tool``
and would install both). Downloaded packages are kept in ``debs/`` for the next root.
"""
import os
import time
from pathlib import Path

from image_repair.agent import log
from image_repair.agent.runner import run

from . import cache
from .mounts import Mounts, in_chroot, remove_tree
from .recipe import Recipe, root_packages

DEFAULT_MIRROR = "http://deb.debian.org/debian"

# dracut in a chroot must build a generic image (hostonly would pack the build host's drivers).
DRACUT_GENERIC_CONF = '# image_repair_lab.testimages: a generic initramfs, as a cloud image has\nhostonly="no"\n'


def mirror_url() -> str:
    return os.environ.get("IMAGE_REPAIR_DEBIAN_MIRROR") or DEFAULT_MIRROR


def ensure_root(recipe: Recipe) -> Path:
    """The cached root tarball of ``recipe``, built with debootstrap when missing."""
    tarball = cache.subdir("roots") / ("debian%s-%s.tar.zst" % (recipe.version, recipe.root_key()))
    if tarball.exists():
        return tarball
    with cache.locked(tarball):
        if tarball.exists():
            return tarball
        started = time.time()
        log.info("testimages: building the debootstrap root %s for %s (a few minutes)", tarball.name, recipe.name)
        work = cache.subdir("work") / ("root-" + recipe.root_key())
        remove_tree(work)
        try:
            _debootstrap(recipe, work)
            _finish_root(recipe, work)
            temp = cache.temporary_name(tarball)
            run(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-I", "zstd -T0 -3", "-C", str(work),
                 "-cpf", str(temp), "."], label="testimages: packing the root")
            temp.rename(tarball)
        finally:
            remove_tree(work)
        log.info("testimages: root %s built in %.0f s", tarball.name, time.time() - started)
    return tarball


def _debootstrap(recipe: Recipe, target: Path):
    run(["debootstrap", "--variant=minbase", "--cache-dir=%s" % cache.subdir("debs"),
         "--include=" + ",".join(root_packages(recipe)), recipe.suite, str(target), mirror_url()],
        label="testimages: debootstrap %s" % recipe.suite, timeout=3600)


def _finish_root(recipe: Recipe, root: Path):
    """dracut (if asked), then a clean apt state; nothing of the build host stays in the root."""
    (root / "etc/apt/sources.list").write_text("deb %s %s main\n" % (DEFAULT_MIRROR, recipe.suite))
    if recipe.initramfs == "dracut":
        conf = root / "etc/dracut.conf.d"
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "10-generic.conf").write_text(DRACUT_GENERIC_CONF)
        with Mounts() as mounts:
            mounts.chroot_binds(root)
            in_chroot(root, ["sh", "-c", "echo 'deb %s %s main' > /etc/apt/sources.list" % (mirror_url(), recipe.suite)])
            in_chroot(root, ["apt-get", "update", "-q"], label="testimages: apt-get update")
            in_chroot(root, ["apt-get", "install", "-y", "-q", "--no-install-recommends", "dracut"],
                      label="testimages: installing dracut", timeout=1800)
            in_chroot(root, ["apt-get", "clean"])
        (root / "etc/apt/sources.list").write_text("deb %s %s main\n" % (DEFAULT_MIRROR, recipe.suite))
    for leftover in (root / "var/lib/apt/lists").glob("*_*"):
        leftover.unlink()
    (root / "etc/resolv.conf").write_text("")
