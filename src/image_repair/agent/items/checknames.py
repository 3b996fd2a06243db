"""The ECS image check's item names and the repair items that answer them: the one place that
reads a check item's name (stdlib only, Python 3.6: the agent's CLI uses it too).

DescribeImages answers the check as ``DetectionOptions.Items.Item[].Name``. Alibaba's own sources
spell these names two ways (docs/cloud-contracts.md, "Events and image checks"):

* bare: the API metadata's example answers ``"Nvme"``; the seed template matches ``"SystemImage"``;
* prefixed: the user guide's table names ``GUESTOS.Virtio``, ``GUESTOS.SystemImage``...

Which one the service really answers cannot be checked without an account, so nothing depends on
it: every reader (the watch's policy, the sweep's selection, ``auto``, the SystemImage refusal,
the before/after report) maps a name with ``repair_item_for`` / ``is_check_item``, which take
both. Case is kept as the API gives it (every source writes each name in the same case).
"""

PREFIX = "GUESTOS."
SYSTEM_IMAGE = "SystemImage"

# repair item (the seed template's repairItems name) -> the check item it answers, bare spelling
CHECK_ITEMS = {
    "fstab": "Fstab",
    "grub": "Grub",
    "virtio": "Virtio",
    "nvme": "Nvme",
    "dhcp": "Dhcp",
    "selinux": "Selinux",
    "cloudinit": "CloudInit",
    "growpart": "OnlineResizeFS",
    "assist": "CloudAssistant",
    "aegis": "SecurityCenterAgent",
}
_REPAIR_ITEM_OF_CHECK = dict((check, item) for item, check in CHECK_ITEMS.items())

# The two spellings (the emulator answers in either: its seed's ``check_item_names``).
SPELLINGS = ("prefixed", "bare")


def bare(name):
    """``GUESTOS.Virtio`` -> ``Virtio``; a bare name is returned as it is."""
    return name[len(PREFIX):] if name.startswith(PREFIX) else name


def repair_item_for(name):
    """The repair item answering check item ``name`` (either spelling), or None."""
    if not isinstance(name, str):
        return None
    return _REPAIR_ITEM_OF_CHECK.get(bare(name))


def is_check_item(name, bare_name):
    """Whether ``name`` (either spelling) is the check item ``bare_name`` (e.g. SYSTEM_IMAGE)."""
    return isinstance(name, str) and bare(name) == bare_name


def check_item_name(item, spelling="prefixed"):
    """The check item repair item ``item`` answers, in ``spelling`` (the user guide's by default)."""
    name = CHECK_ITEMS[item]
    return PREFIX + name if spelling == "prefixed" else name


def spelt(name, spelling):
    """A check item name as a service answering in ``spelling`` would write it: ``bare`` drops
    the prefix of every name; ``prefixed`` puts it on the repair items' names and leaves the
    others (SystemImage, Platform...) as they are written."""
    if spelling not in SPELLINGS:
        raise ValueError("unknown check item spelling %r (known: %s)" % (spelling, ", ".join(SPELLINGS)))
    if spelling == "bare":
        return bare(name)
    return PREFIX + bare(name) if bare(name) in _REPAIR_ITEM_OF_CHECK else name
