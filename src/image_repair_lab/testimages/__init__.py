"""Real Debian test guests on raw disk images, built with debootstrap and cached by recipe.

    from image_repair_lab.testimages import Recipe, build_image, broken_image, copy_image, open_image
    image = broken_image(Recipe(suite="bookworm", firmware="bios"), ["vmware"])
    copy = copy_image(image.path, tmp_path / "disk.img")
    with open_image(copy, read_only=True) as root: ...

See docs/test-images.md (recipes, cache, breakages, the boot marker) and
``python -m image_repair_lab.testimages --help``. Needs root, debootstrap and the Debian mirror.
"""
from .breakages import BREAKAGES
from .builder import BuiltImage, broken_image, build_image, copy_image, open_image
from .cache import cache_dir
from .guestconfig import BASE_KERNEL_ARGS, MARKER_PREFIX
from .marker import BootResult, parse_boot_log
from .recipe import BUILDER_VERSION, Recipe

__all__ = ["BREAKAGES", "BASE_KERNEL_ARGS", "BUILDER_VERSION", "BootResult", "BuiltImage", "MARKER_PREFIX", "Recipe",
           "broken_image", "build_image", "cache_dir", "copy_image", "open_image", "parse_boot_log"]
