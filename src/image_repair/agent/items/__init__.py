"""The repair items, one module each, named as in the seed template's repairItems."""
import importlib

from ..errors import BadInput

# Order matters: items whose fixes feed shared regenerations come before the ones that verify
# them, and package installs (slow, need the network) come last.
ITEM_NAMES = ("fstab", "grub", "virtio", "nvme", "dhcp", "selinux",
              "cloudinit", "growpart", "assist", "aegis")
SPECIAL = ("all", "auto")
SEED_DEFAULT = ("assist", "cloudinit", "virtio", "nvme", "fstab", "grub", "dhcp", "growpart")


def parse_item_list(value):
    """Turn ``"all"``, ``"auto"``, ``"virtio,fstab"``, ``"virtio fstab"`` or a list into
    ``(names, auto)``. Unknown names are bad input (exit status 2), checked before anything runs."""
    if value is None:
        return list(ITEM_NAMES), True
    if isinstance(value, str):
        tokens = value.replace(",", " ").split()
    elif isinstance(value, (list, tuple)):
        tokens = []
        for entry in value:
            if not isinstance(entry, str):
                raise BadInput("repair items must be strings, got %r" % (entry,))
            tokens.extend(entry.replace(",", " ").split())
    else:
        raise BadInput("repair items must be a list or a string, got %r" % (value,))
    if not tokens:
        raise BadInput("no repair items given (use 'all', 'auto' or names from: %s)" % ", ".join(ITEM_NAMES))
    unknown = [t for t in tokens if t not in ITEM_NAMES and t not in SPECIAL]
    if unknown:
        raise BadInput("unknown repair item(s): %s (known: %s, all, auto)" % (", ".join(unknown), ", ".join(ITEM_NAMES)))
    if "all" in tokens or "auto" in tokens:
        if len(set(tokens)) > 1:
            raise BadInput("'all' and 'auto' cannot be combined with other items: %s" % " ".join(tokens))
        return list(ITEM_NAMES), tokens[0] == "auto"
    return [n for n in ITEM_NAMES if n in tokens], False


def load_item(name):
    """The item object for ``name`` (its module is imported only when asked for)."""
    if name not in ITEM_NAMES:
        raise BadInput("unknown repair item: %s" % name)
    module = importlib.import_module("." + name, __name__)
    return module.ITEM
