"""virtio on fixture guests: the guest's own (stub) tool in a chroot, real images verified by listing."""
import hashlib
import os


from image_repair.agent import engine
from image_repair.agent.items import virtio
from tests.fixtures.guests import build_guest
from tests.fixtures.stubs_initramfs import calls_of, install_initramfs_stubs, make_guest


WANTED = " ".join(virtio.REQUIRED + virtio.OPTIONAL)


def tree_digest(tree):
    """Hash of every file, link and directory in the tree (content, mode, target)."""
    digest = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(str(tree))):
        dirs.sort()
        for name in sorted(files + dirs):
            path = os.path.join(folder, name)
            digest.update(path.encode())
            if os.path.islink(path):
                digest.update(os.readlink(path).encode())
            elif os.path.isfile(path):
                digest.update(open(path, "rb").read())
                digest.update(str(os.stat(path).st_mode).encode())
    return digest.hexdigest()


def test_dry_run_records_commands_and_writes_nothing(tmp_path):
    tree = build_guest(tmp_path, "centos-stream9")
    install_initramfs_stubs(tree, "centos-stream9")
    before = tree_digest(tree)
    [result] = engine.repair(make_guest(tree, "centos-stream9", dry_run=True), ["virtio"])
    assert result.status == "skipped"
    assert result.changes.commands == [
        "dracut -f --no-hostonly --add-drivers %s /boot/initramfs-%s.img %s" % (WANTED, k, k)
        for k in ("5.14.0-362.el9.x86_64", "5.14.0-391.el9.x86_64")]
    assert calls_of(tree, "dracut", "update-initramfs", "mkinitrd") == []
    assert tree_digest(tree) == before


def test_builtin_virtio_is_healthy(tmp_path):
    tree = build_guest(tmp_path, "ubuntu2204")
    detection = virtio.ITEM.detect(make_guest(tree, "ubuntu2204"))
    assert not detection.at_risk, detection.findings
    assert "built in" in detection.findings[0]
