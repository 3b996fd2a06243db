"""The local cloud never writes or deletes a file it did not make (issue 11 point 5: "the local
cloud's copies are never an input"). Real files and qemu-img; no root needed."""
import pytest

from image_repair.emulator.localcloud import LocalCloud, copy_disk
from image_repair.testing import mock_ecs


def test_a_copy_never_overwrites_an_existing_file(tmp_path):
    """Issue 11 point 5: copy_disk wrote over whatever its target named (cp, qemu-img convert)."""
    source, target = tmp_path / "source.img", tmp_path / "target.img"
    source.write_bytes(b"\1" * 65536)
    target.write_bytes(b"the user's")
    with pytest.raises(FileExistsError):
        copy_disk(str(source), str(target))
    assert target.read_bytes() == b"the user's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source.img", "target.img"]   # no temporary left
    fresh = tmp_path / "fresh.img"
    copy_disk(str(source), str(fresh))
    assert fresh.read_bytes() == source.read_bytes()


def test_a_registered_image_file_is_never_deleted_wherever_it_lives(tmp_path):
    """Issue 11 point 5: a raw image registered from the cloud's own snapshots folder (a previous
    run's output, as the command prints it) was unlinked when its snapshot was deleted."""
    with mock_ecs() as backend:
        cloud = LocalCloud(backend, str(tmp_path / "cloud"))
        mine = tmp_path / "cloud" / "snapshots" / "previous-output.img"
        mine.write_bytes(b"\0" * 1024 * 1024)
        image_id = cloud.add_image(str(mine), check=False)
        snapshot = backend.snapshots[backend.images[image_id].mappings[0].snapshot_id]
        cloud.snapshot_deleted(snapshot)
        cloud.close()
    assert mine.exists() and mine.stat().st_size == 1024 * 1024
