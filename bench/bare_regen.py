"""The bare regeneration work a repair of this disk needs, done directly (benchmark 4's
reference): the disk opened and mounted by the agent's own disk layer, exactly as repair-disk
does, then one initramfs rebuild per kernel and one grub.cfg regeneration, in the chroot, with the
guest's own tools. Run as ``python -m bench.bare_regen DISK`` (root), so that it pays the same
interpreter start-up as ``image-repair repair-disk``. Prints one JSON line of what it ran."""
import json
import sys
import time

from image_repair.agent import runner
from image_repair.agent.disk.session import open_guest, resolve_target
from image_repair.agent.guest import facts as guest_facts
from image_repair.agent.guestfs import GuestFS


def initramfs_command(facts, kernel) -> list:
    if facts.initramfs_tool == guest_facts.DRACUT:
        return ["dracut", "-f", kernel.initramfs, kernel.version]
    if facts.initramfs_tool == guest_facts.INITRAMFS_TOOLS:
        return ["update-initramfs", "-u", "-k", kernel.version]
    raise SystemExit("bare_regen: initramfs tool %r is not covered" % facts.initramfs_tool)


def regenerate(path: str) -> dict:
    started = time.time()
    ran = []
    with open_guest(resolve_target(path=path)) as mounted:
        facts = guest_facts.detect_facts(GuestFS(mounted.root))
        mounted.prepare_chroot(facts)
        for kernel in facts.kernels:
            argv = initramfs_command(facts, kernel)
            runner.run_in_chroot(mounted.root, argv, label=argv[0])
            ran.append(argv)
        if not facts.grub_mkconfig or not facts.grub_cfg:
            raise SystemExit("bare_regen: no grub-mkconfig or grub.cfg in the guest")
        argv = [facts.grub_mkconfig, "-o", facts.grub_cfg[0]]
        runner.run_in_chroot(mounted.root, argv, label="grub-mkconfig")
        ran.append(argv)
    return {"commands": ran, "seconds": time.time() - started}


if __name__ == "__main__":
    print(json.dumps(regenerate(sys.argv[1])))
