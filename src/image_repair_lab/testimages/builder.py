"""The cached images: ``build_image(recipe)``, ``broken_image(recipe, breakages)``, ``copy_image``
and ``open_image`` (mount a built image, optionally ready for chroot commands)."""
import contextlib
import json
import shutil
import time
from pathlib import Path

from image_repair.agent import log
from image_repair.agent.runner import run

from . import breakages as breakage_functions
from . import cache
from .diskbuild import build_disk
from .mounts import Mounts, mount_image
from .recipe import Recipe
from .rootfs import ensure_root


class BuiltImage:
    """A raw disk image file and its manifest (recipe, filesystems with offsets and UUIDs)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.manifest = json.loads(manifest_path(self.path).read_text())

    @property
    def recipe(self) -> Recipe:
        data = dict(self.manifest["recipe"])
        data["extra_packages"] = tuple(data.get("extra_packages", ()))
        return Recipe(**data)

    def filesystem(self, mountpoint: str) -> dict:
        return next(fs for fs in self.manifest["filesystems"] if fs["mountpoint"] == mountpoint)

    @property
    def breakages(self) -> list:
        return list(self.manifest.get("breakages", []))

    def __repr__(self):
        return "BuiltImage(%s, %s)" % (self.path, self.manifest.get("name"))


def manifest_path(image: Path) -> Path:
    return Path(str(image) + ".json")


def build_image(recipe: Recipe) -> BuiltImage:
    """The cached image of ``recipe``, built (root first, if needed) when missing."""
    image = cache.subdir("images") / ("%s-%s.img" % (recipe.name, recipe.key()))
    if image.exists() and manifest_path(image).exists():
        return BuiltImage(image)
    tarball = ensure_root(recipe)
    with cache.locked(image):
        if not (image.exists() and manifest_path(image).exists()):
            started = time.time()
            log.info("testimages: building disk image %s", image.name)
            temp = cache.temporary_name(image)
            manifest = build_disk(recipe, tarball, temp)
            manifest["build_seconds"] = round(time.time() - started, 1)
            _publish(temp, image, manifest)
            log.info("testimages: %s built in %.0f s", image.name, time.time() - started)
    return BuiltImage(image)


def broken_image(recipe: Recipe, breakages) -> BuiltImage:
    """The cached image of ``recipe`` with the named breakages applied (in the given order)."""
    names = list(breakages)
    for name in names:
        breakage_functions.get(name)  # unknown names fail before any build
    base = build_image(recipe)
    if not names:
        return base
    image = base.path.with_name(base.path.stem + "-" + "+".join(names) + ".img")
    if image.exists() and manifest_path(image).exists():
        return BuiltImage(image)
    with cache.locked(image):
        if not (image.exists() and manifest_path(image).exists()):
            started = time.time()
            temp = cache.temporary_name(image)
            copy_image(base.path, temp)
            manifest = dict(base.manifest)
            breakage_functions.apply(temp, manifest, names)
            manifest["breakages"] = names
            _publish(temp, image, manifest)
            log.info("testimages: %s broken (%s) in %.0f s", base.path.name, ", ".join(names), time.time() - started)
    return BuiltImage(image)


def _publish(temp: Path, image: Path, manifest: dict):
    manifest_temp = cache.temporary_name(manifest_path(image))
    manifest_temp.write_text(json.dumps(manifest, indent=2) + "\n")
    temp.rename(image)
    manifest_temp.rename(manifest_path(image))


def copy_image(source: Path, target: Path) -> Path:
    """A sparse copy of a disk image and its manifest (the copy is what a test may modify)."""
    run(["cp", "--sparse=always", str(source), str(target)])
    if manifest_path(source).exists():
        shutil.copyfile(manifest_path(source), manifest_path(target))
    return Path(target)


@contextlib.contextmanager
def open_image(image, read_only=False, chroot=False):
    """Mount a built image (or a copy) with its manifest; yields the guest root directory."""
    built = image if isinstance(image, BuiltImage) else BuiltImage(Path(image))
    with Mounts() as mounts:
        yield mount_image(mounts, built.path, built.manifest, read_only=read_only, chroot=chroot)


def prune_stale_images() -> list:
    """Remove cached images built by an older builder (their recipe now hashes to another key).
    Builds under way (``.building-*``) are left alone. Returns the removed paths."""
    removed = []
    folder = cache.subdir("images")
    for image in sorted(folder.glob("*.img")):
        if image.name.startswith(".building-") or not manifest_path(image).exists():
            continue
        try:
            built = BuiltImage(image)
            stale = built.recipe.key() != built.manifest["key"]
        except (ValueError, KeyError, TypeError):
            stale = True  # a manifest this builder cannot read
        if stale:
            with cache.locked(image):
                for path in (image, manifest_path(image), image.with_name(image.name + ".lock")):
                    if path.exists():
                        path.unlink()
                        removed.append(path)
    return removed
