"""Boot proof: booting test guests in qemu before and after ``image-repair repair-disk``.

    from image_repair_lab.bootproof import BootSpec, boot, MetadataServer
    with MetadataServer(hostname="bootproof-a") as metadata:
        result = boot(BootSpec(image, bus="nvme", firmware="uefi", metadata_port=metadata.port), workdir)
    result.report.problems(root_uuid=...)   # [] for a healthy ECS boot

See docs/boot-proof.md; the suite is tests/boot (``scripts/test.sh -m boot``).
"""
from .metadata import MetadataServer
from .qemu import BootResult, BootSpec, boot, qemu_command
from .serial import BootReport, parse

__all__ = ["BootReport", "BootResult", "BootSpec", "MetadataServer", "boot", "parse", "qemu_command"]
