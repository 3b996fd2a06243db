"""Image chains resolved and vetted before qemu reads anything (issue 11, point 3): backing files,
vmdk extents and parents, qcow2 data files; what qemu is then handed. Images made by qemu-img,
read by our parsers; ``qemu-img create -u`` writes a backing name without opening it."""
import os
import stat
import struct
import subprocess

import pytest

from image_repair.agent.disk import chain, imagefile
from image_repair.agent.errors import BadInput, RefusedDisk

MiB = 1024 * 1024


def qemu_img(*argv, **kwargs):
    subprocess.run(["qemu-img"] + [str(a) for a in argv], check=True, stdout=subprocess.DEVNULL, cwd=kwargs.get("cwd"))


def raw_disk(path, fill=b"base"):
    with open(str(path), "wb") as handle:
        handle.truncate(4 * MiB)
        handle.write(fill * 128)
    return str(path)


def overlay(path, backing, backing_format="raw"):
    qemu_img("create", "-q", "-u", "-f", "qcow2", "-b", backing, "-F", backing_format, path, "4M")
    return str(path)


def roles(files):
    return [(f.role, os.path.basename(f.path), f.format) for f in files]


def any_block_device():
    for name in sorted(os.listdir("/dev")):
        path = os.path.join("/dev", name)
        if stat.S_ISBLK(os.lstat(path).st_mode):
            return path
    pytest.fail("no block device node in /dev")


def test_a_qcow2_chain_is_read_from_the_headers(tmp_path):
    base = raw_disk(tmp_path / "base.raw")
    middle = overlay(tmp_path / "middle.qcow2", "base.raw")
    top = overlay(tmp_path / "top.qcow2", "middle.qcow2", "qcow2")
    node, files = chain.resolve_chain(top, "qcow2")
    assert roles(files) == [("backing", "middle.qcow2", "qcow2"), ("backing", "base.raw", "raw")]
    assert files[0].describe() == {"role": "backing", "name": "middle.qcow2", "path": middle, "format": "qcow2",
                                   "of": top}
    assert node.backing.backing.path == base and node.backing.backing.backing is None


def test_a_backing_format_missing_from_the_header_is_read_by_magic(tmp_path):
    base = raw_disk(tmp_path / "base.qcow2")
    os.unlink(base)
    qemu_img("create", "-q", "-f", "qcow2", base, "4M")
    top = str(tmp_path / "top.qcow2")
    # a qcow2 v2 written with a backing name and no format extension, as old qemu-img did
    qemu_img("create", "-q", "-u", "-f", "qcow2", "-o", "compat=0.10", "-b", "base.qcow2", "-F", "qcow2", top, "4M")
    backing, backing_format, _data = chain.qcow2_references(top)
    assert backing == "base.qcow2"
    _node, files = chain.resolve_chain(top, "qcow2")
    assert files[0].format == "qcow2"


@pytest.mark.parametrize("name, error, message", [
    ("json:{\"driver\": \"raw\", \"file\": {\"driver\": \"host_device\", \"filename\": \"/dev/vda\"}}",
     RefusedDisk, "qemu protocol or JSON description"),
    ("nbd://10.0.0.1/export", RefusedDisk, "qemu protocol"),
    ("missing.raw", BadInput, "cannot be read"),
    ("/etc", RefusedDisk, "not a regular file"),
    ("/dev/null", RefusedDisk, "not a regular file"),
])
def test_backing_names_that_are_no_file_here_are_refused(tmp_path, name, error, message):
    """Issue 11 point 3: a backing file that is no regular file in the image's folder is refused."""
    top = overlay(tmp_path / "top.qcow2", name)
    with pytest.raises(error, match=message):
        chain.resolve_chain(top, "qcow2")


def test_a_backing_file_that_is_a_block_device_is_refused(tmp_path):
    """Issue 11 point 3: a qcow2 whose backing file is a block device (a loop device with a mounted
    filesystem, the host's own disk) is refused, even when outside files are allowed."""
    device = any_block_device()
    top = overlay(tmp_path / "top.qcow2", device)
    for allow in (False, True):
        with pytest.raises(RefusedDisk, match="is the block device %s" % device):
            chain.resolve_chain(top, "qcow2", allow_outside=allow)


def test_a_backing_file_outside_the_folder_needs_the_flag(tmp_path):
    """Issue 11 point 3: outside the image's folder only with --allow-backing-outside."""
    (tmp_path / "images").mkdir()
    (tmp_path / "elsewhere").mkdir()
    base = raw_disk(tmp_path / "elsewhere" / "base.raw")
    top = overlay(tmp_path / "images" / "top.qcow2", "../elsewhere/base.raw")
    with pytest.raises(RefusedDisk, match="outside the image's folder.*--allow-backing-outside"):
        chain.resolve_chain(top, "qcow2")
    # a symlink in the folder is judged by where it leads
    os.symlink(base, str(tmp_path / "images" / "link.raw"))
    linked = overlay(tmp_path / "images" / "linked.qcow2", "link.raw")
    with pytest.raises(RefusedDisk, match="outside the image's folder"):
        chain.resolve_chain(linked, "qcow2")
    _node, files = chain.resolve_chain(top, "qcow2", allow_outside=True)
    assert [f.path for f in files] == [base]


def test_a_chain_that_loops_is_refused(tmp_path):
    first = overlay(tmp_path / "a.qcow2", "b.qcow2", "qcow2")
    overlay(tmp_path / "b.qcow2", "a.qcow2", "qcow2")
    with pytest.raises(RefusedDisk, match="the chain loops"):
        chain.resolve_chain(first, "qcow2")


def test_a_qcow2_external_data_file_is_part_of_the_chain(tmp_path):
    top = str(tmp_path / "top.qcow2")
    qemu_img("create", "-q", "-f", "qcow2", "-o", "data_file=top.data", top, "4M", cwd=str(tmp_path))
    _node, files = chain.resolve_chain(top, "qcow2")
    assert roles(files) == [("data-file", "top.data", None)]


def test_vmdk_extents_and_parent(tmp_path):
    flat = str(tmp_path / "flat.vmdk")
    qemu_img("create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", flat, "4M")
    _node, files = chain.resolve_chain(flat, "vmdk")
    assert roles(files) == [("extent", "flat-flat.vmdk", None)]
    base = str(tmp_path / "base.vmdk")
    qemu_img("create", "-q", "-f", "vmdk", base, "4M")
    child = str(tmp_path / "child.vmdk")
    qemu_img("create", "-q", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", child, "4M")
    _node, files = chain.resolve_chain(child, "vmdk")
    assert roles(files) == [("backing", "base.vmdk", "vmdk")]   # a sparse file is its own extent


def test_a_vmdk_extent_that_is_a_block_device_is_refused(tmp_path):
    """Issue 11 point 3: vmdk extents are vetted like backing files."""
    flat = str(tmp_path / "flat.vmdk")
    qemu_img("create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", flat, "4M")
    device = any_block_device()
    with open(flat) as handle:
        text = handle.read().replace('"flat-flat.vmdk"', '"%s"' % device)
    with open(flat, "w") as handle:
        handle.write(text)
    with pytest.raises(RefusedDisk, match="extent .* is the block device"):
        chain.resolve_chain(flat, "vmdk")


def test_a_vhd_differencing_disk_is_refused_with_its_parent(tmp_path):
    path = str(tmp_path / "child.vhd")
    qemu_img("create", "-q", "-f", "vpc", path, "4M")
    size = os.path.getsize(path)
    with open(path, "r+b") as handle:
        for footer_at in (0, size - 512):
            handle.seek(footer_at + 60)
            handle.write(struct.pack(">I", chain.VHD_DIFFERENCING))
        handle.seek(0 + 16)
        dynamic_at = struct.unpack(">Q", handle.read(8))[0]
        handle.seek(dynamic_at + 64)
        handle.write("parent.vhd".encode("utf-16-be"))
    with pytest.raises(BadInput, match="VHD differencing disk \\(parent 'parent.vhd'\\)"):
        chain.resolve_chain(path, "vhd")


def test_qemu_opens_the_vetted_files_not_the_names_in_the_image(tmp_path):
    """The conversion is handed the vetted chain: a backing name changed in the header after the
    checks is never followed."""
    raw_disk(tmp_path / "base.raw", b"good")
    raw_disk(tmp_path / "other.raw", b"evil")
    top = overlay(tmp_path / "top.qcow2", "base.raw")
    node, _files = chain.resolve_chain(top, "qcow2")
    qemu_img("rebase", "-u", "-f", "qcow2", "-b", "other.raw", "-F", "raw", top)
    out = str(tmp_path / "out.raw")
    imagefile.convert_to_raw(node, out)
    with open(out, "rb") as handle:
        assert handle.read(4) == b"good"


def test_the_qemu_description_names_every_vetted_file(tmp_path):
    raw_disk(tmp_path / "base.raw")
    top = overlay(tmp_path / "top.qcow2", "base.raw")
    node, _files = chain.resolve_chain(top, "qcow2")
    assert chain.qemu_spec(node) == {
        "driver": "qcow2", "file": {"driver": "file", "filename": top, "locking": "on"},
        "backing": {"driver": "raw", "file": {"driver": "file", "filename": str(tmp_path / "base.raw"),
                                              "locking": "on"}, "backing": None}}
    flat = str(tmp_path / "flat.vmdk")
    qemu_img("create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", flat, "4M")
    node, _files = chain.resolve_chain(flat, "vmdk")
    assert chain.qemu_spec(node)["extents.0"] == {"driver": "file", "locking": "on"}
    assert imagefile.virtual_size(flat, "vmdk", node) == 4 * MiB


@pytest.mark.parametrize("name, protocol", [
    ("nbd:host:10809", True), ("json:{}", True), ("file:disk.raw", True), ("disk.raw", False),
    ("dir/with:colon.raw", False), ("/abs/x:y", False),
])
def test_has_protocol_follows_qemu(name, protocol):
    assert chain.has_protocol(name) == protocol


@pytest.mark.parametrize("qemu_format, fmt, options", [
    ("qcow2", "qcow2", []), ("vmdk", "vmdk", []), ("vmdk", "vmdk", ["-o", "subformat=monolithicFlat"]),
    ("vpc", "vhd", []), ("vhdx", "vhdx", []),
])
def test_every_format_opens_from_its_vetted_description(tmp_path, qemu_format, fmt, options):
    """qemu takes ``backing: null`` and the ``file`` driver for each format the agent converts."""
    path = str(tmp_path / ("disk." + qemu_format))
    qemu_img(*(["create", "-q", "-f", qemu_format] + options + [path, "4M"]))
    node, _files = chain.resolve_chain(path, fmt)
    assert imagefile.virtual_size(path, fmt, node) >= 4 * MiB
    out = str(tmp_path / "out.raw")
    imagefile.convert_to_raw(node, out)
    assert os.path.getsize(out) == imagefile.virtual_size(path, fmt, node)


def test_the_file_driver_refuses_anything_but_a_regular_file(tmp_path):
    """Belt and braces under the vetting: qemu's ``file`` driver will not open a device."""
    node = chain.ImageNode("/dev/null", "raw")
    result = subprocess.run(["qemu-img", "info", chain.qemu_filename(node)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True)
    assert result.returncode != 0 and "regular file" in result.stdout
