"""Small fixture disks for the disk layer's integration tests, built in seconds without debootstrap.

A disk is a sparse file partitioned with sfdisk; each filesystem is made on an offset loop device
(there is no partition scan here) with a chosen UUID, so a guest's fstab can name the others
before they exist. The guest trees are minimal: os-release, fstab, the usual top folders.
Partition offsets are read back from ``sfdisk -J`` (not from the code under test).
"""
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import uuid as uuidlib

MiB = 1024 * 1024


def sh(*argv, **kwargs):
    """Run a command; its output on failure makes a test failure readable."""
    # report=True: stdout only (lvm's reports; its warnings go to stderr)
    result = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE if kwargs.get("report") else subprocess.STDOUT,
                            universal_newlines=True, input=kwargs.get("input"),
                            env=dict(os.environ, LVM_SUPPRESS_FD_WARNINGS="1"))
    if kwargs.get("check", True) and result.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (" ".join(map(str, argv)), result.returncode, result.stdout,
                                                         result.stderr or ""))
    return result.stdout


def new_uuid():
    return str(uuidlib.uuid4())


@contextlib.contextmanager
def loop(path, offset=0, size=None, read_only=False):
    argv = ["losetup", "--find", "--show", "--offset", str(offset)]
    if size:
        argv += ["--sizelimit", str(size)]
    if read_only:
        argv.append("--read-only")
    device = sh(*(argv + [path])).strip()
    try:
        yield device
    finally:
        sh("losetup", "-d", device)


@contextlib.contextmanager
def mounted(device, options=None, fstype=None):
    point = tempfile.mkdtemp(prefix="diskbuild-")
    argv = ["mount"] + (["-t", fstype] if fstype else []) + (["-o", options] if options else []) + [device, point]
    sh(*argv)
    try:
        yield point
    finally:
        sh("umount", point)
        os.rmdir(point)


def guest_tree(base, fstab, pretty="Debian GNU/Linux 12 (bookworm)", files=None):
    """A minimal guest root: /etc/os-release, /etc/fstab, and the folders the chroot binds."""
    for folder in ("etc", "boot", "boot/efi", "dev", "proc", "sys", "run", "tmp", "root", "var", "usr/bin", "home"):
        os.makedirs(os.path.join(base, folder), exist_ok=True)
    with open(os.path.join(base, "etc/os-release"), "w") as handle:
        handle.write('PRETTY_NAME="%s"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n' % pretty)
    with open(os.path.join(base, "etc/fstab"), "w") as handle:
        handle.write("# <file system> <mount point> <type> <options> <dump> <pass>\n" + fstab)
    for name, content in (files or {}).items():
        path = os.path.join(base, name.lstrip("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(content)
    return base


def partition(path, size_mib, script):
    """Create a sparse disk of ``size_mib`` and partition it with an sfdisk ``script``; returns
    {number: (start byte, size bytes)} as sfdisk reports it."""
    with open(path, "wb") as handle:
        handle.truncate(size_mib * MiB)
    sh("sfdisk", "-q", path, input=script)
    return partition_offsets(path)


def partition_offsets(path):
    table = json.loads(sh("sfdisk", "-J", path))["partitiontable"]
    sector = table.get("sectorsize", 512)
    return dict((int(p["node"][len(path):]), (p["start"] * sector, p["size"] * sector)) for p in table["partitions"])


def populate(device, tree, fstype, subvolumes=None):
    """Copy ``tree`` into the filesystem on ``device``; btrfs ``subvolumes`` {name: tree}."""
    with mounted(device, "nouuid" if fstype == "xfs" else None) as point:
        if tree:
            sh("cp", "-a", tree + "/.", point)
        for name, subtree in (subvolumes or {}).items():
            sh("btrfs", "-q", "subvolume", "create", os.path.join(point, name))
            if subtree:
                sh("cp", "-a", subtree + "/.", os.path.join(point, name))


def make_fs(device, fstype, fs_uuid=None, label=None, tree=None, subvolumes=None):
    """mkfs ``fstype`` on ``device`` with ``fs_uuid``, filled from ``tree``."""
    if fstype in ("ext4", "ext3", "ext2"):
        argv = ["mkfs." + fstype, "-q", "-F"] + (["-U", fs_uuid] if fs_uuid else []) + (["-L", label] if label else [])
        sh(*(argv + (["-d", tree] if tree else []) + [device]))
        return
    if fstype == "xfs":
        sh(*(["mkfs.xfs", "-q", "-f"] + (["-m", "uuid=" + fs_uuid] if fs_uuid else [])
             + (["-L", label] if label else []) + [device]))
    elif fstype == "btrfs":
        sh(*(["mkfs.btrfs", "-q", "-f"] + (["-U", fs_uuid] if fs_uuid else [])
             + (["-L", label] if label else []) + [device]))
    elif fstype == "vfat":
        sh(*(["mkfs.vfat"] + (["-i", fs_uuid.replace("-", "")] if fs_uuid else [])
             + (["-n", label] if label else []) + [device]))
    elif fstype == "swap":
        sh(*(["mkswap"] + (["-U", fs_uuid] if fs_uuid else []) + [device]))
        return
    else:
        raise ValueError(fstype)
    if tree or subvolumes:
        populate(device, tree, fstype, subvolumes)


def fs_on_partition(disk, parts, number, fstype, **kwargs):
    start, size = parts[number]
    with loop(disk, start, size) as device:
        make_fs(device, fstype, **kwargs)


def sparse_copy(source, target):
    sh("cp", "--sparse=always", source, target)
    return target


def file_hash(path):
    import hashlib
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def loops_backed_by(folder):
    """Loop devices whose backing file lies under ``folder`` (to prove none is left behind)."""
    output = sh("losetup", "-a", "-O", "NAME,BACK-FILE", "--noheadings", "--raw", check=False)
    return [line for line in output.splitlines() if folder in line]


def mounts_under(folder):
    with open("/proc/self/mountinfo") as handle:
        return [line for line in handle if folder in line.split()[4]]


def tmp_tree(parent, name):
    path = os.path.join(parent, name)
    if os.path.exists(path):
        shutil.rmtree(path)
    os.makedirs(path)
    return path


# -- the fixture guests -------------------------------------------------------------------------
class Built(object):
    """A built fixture disk: its path and the UUIDs etc. the tests compare the layout with."""

    def __init__(self, path, **facts):
        self.path = path
        self.__dict__.update(facts)


def build_mbr_ext4(folder):
    """MBR: 1 ext4 / (fstab names it /dev/sda1), 2 extended with 5 swap and 6 ext4 /var (by UUID);
    fstab also has an nfs, a bind and a second-disk entry, which must be skipped."""
    path = os.path.join(folder, "mbr.img")
    parts = partition(path, 64, "label: dos\nstart=1MiB, size=24MiB, type=83, bootable\nstart=25MiB, type=5\n"
                                "size=4MiB, type=82\nsize=16MiB, type=83\n")
    var_uuid, swap_uuid, root_uuid = new_uuid(), new_uuid(), new_uuid()
    tree = guest_tree(tmp_tree(folder, "mbr-root"),
                      "/dev/sda1 / ext4 errors=remount-ro 0 1\nUUID=%s /var ext4 defaults 0 2\n"
                      "/dev/sda5 none swap sw 0 0\nfiler:/export /mnt/nfs nfs defaults 0 0\n"
                      "/srv /srv2 none bind 0 0\n/dev/sdb1 /data ext4 defaults 0 2\n" % var_uuid,
                      files={"etc/marker": "mbr\n"})
    var_tree = tmp_tree(folder, "mbr-var")
    os.makedirs(os.path.join(var_tree, "lib/dpkg"))
    fs_on_partition(path, parts, 1, "ext4", fs_uuid=root_uuid, label="rootfs", tree=tree)
    fs_on_partition(path, parts, 5, "swap", fs_uuid=swap_uuid)
    fs_on_partition(path, parts, 6, "ext4", fs_uuid=var_uuid, tree=var_tree)
    return Built(path, root_uuid=root_uuid, var_uuid=var_uuid, swap_uuid=swap_uuid, parts=parts)


def build_gpt_uefi(folder):
    """GPT: 15 ESP (vfat, by PARTUUID), 1 ext4 /boot, 2 ext4 / ; the root's resolv.conf is a
    dangling symlink into /run, as on systemd-resolved guests."""
    path = os.path.join(folder, "gpt.img")
    esp_partuuid = new_uuid()
    parts = partition(path, 80, "label: gpt\n%s15 : start=1MiB, size=16MiB, type=U, uuid=%s\n"
                                "%s1 : start=17MiB, size=16MiB, type=L\n%s2 : start=33MiB, type=L\n"
                      % (path, esp_partuuid, path, path))
    root_uuid, boot_uuid = new_uuid(), new_uuid()
    tree = guest_tree(tmp_tree(folder, "gpt-root"),
                      "UUID=%s / ext4 defaults 0 1\nUUID=%s /boot ext4 defaults 0 2\n"
                      "PARTUUID=%s /boot/efi vfat umask=0077 0 1\n" % (root_uuid, boot_uuid, esp_partuuid))
    os.symlink("../run/systemd/resolve/stub-resolv.conf", os.path.join(tree, "etc/resolv.conf"))
    boot_tree = tmp_tree(folder, "gpt-boot")
    os.makedirs(os.path.join(boot_tree, "grub"))
    os.makedirs(os.path.join(boot_tree, "efi"))
    with open(os.path.join(boot_tree, "grub/grub.cfg"), "w") as handle:
        handle.write("# boot partition\n")
    fs_on_partition(path, parts, 15, "vfat", fs_uuid="1234-ABCD", label="ESP")
    fs_on_partition(path, parts, 1, "ext4", fs_uuid=boot_uuid, tree=boot_tree)
    fs_on_partition(path, parts, 2, "ext4", fs_uuid=root_uuid, tree=tree)
    return Built(path, root_uuid=root_uuid, boot_uuid=boot_uuid, esp_partuuid=esp_partuuid, parts=parts)


def build_xfs(folder):
    """MBR with one xfs root (xfs needs 300 MB; the file stays sparse)."""
    path = os.path.join(folder, "xfs.img")
    parts = partition(path, 320, "label: dos\nstart=1MiB, type=83\n")
    root_uuid = new_uuid()
    tree = guest_tree(tmp_tree(folder, "xfs-root"), "UUID=%s / xfs defaults 0 0\n" % root_uuid,
                      files={"etc/redhat-release": "CentOS Linux release 7.9.2009 (Core)\n"})
    fs_on_partition(path, parts, 1, "xfs", fs_uuid=root_uuid, tree=tree)
    return Built(path, root_uuid=root_uuid, parts=parts)


def build_btrfs(folder):
    """GPT with one btrfs: subvolume @ is /, @home is /home (no default subvolume set)."""
    path = os.path.join(folder, "btrfs.img")
    parts = partition(path, 160, "label: gpt\nstart=1MiB, type=L\n")
    fs_uuid = new_uuid()
    tree = guest_tree(tmp_tree(folder, "btrfs-root"),
                      "UUID=%s / btrfs subvol=@,compress=zstd 0 0\nUUID=%s /home btrfs subvol=@home 0 0\n"
                      % (fs_uuid, fs_uuid), pretty="openSUSE Leap 15.5")
    home = tmp_tree(folder, "btrfs-home")
    os.makedirs(os.path.join(home, "alice"))
    fs_on_partition(path, parts, 1, "btrfs", fs_uuid=fs_uuid, subvolumes={"@": tree, "@home": home})
    return Built(path, fs_uuid=fs_uuid, parts=parts)


def lvm_create(device, vg, lvs):
    """pvcreate + vgcreate + lvcreate without activation (no device-mapper here); ``lvs`` is
    [(name, size)]. Returns {lv: (byte offset in the PV, byte size)} from lvm's own reports."""
    config = ["--config", "global/activation=0"]
    sh("pvcreate", "-q", "-y", *(config + [device]))
    sh("vgcreate", "-q", *(config + [vg, device]))
    for name, size in lvs:
        sh("lvcreate", "-q", "--activate", "n", "--zero", "n", "-n", name, "-L", size, *(config + [vg]))
    pe_start = int(sh("pvs", "--noheadings", "--units", "b", "--nosuffix", "-o", "pe_start", *(config + [device]), report=True))
    extent = int(sh("vgs", "--noheadings", "--units", "b", "--nosuffix", "-o", "vg_extent_size", *(config + [vg]), report=True))
    layout = {}
    for line in sh("lvs", "--noheadings", "--units", "b", "--nosuffix", "-o", "lv_name,seg_pe_ranges,seg_size",
                   *(config + [vg]), report=True).splitlines():
        name, ranges, size = line.split()
        first = int(ranges.rsplit(":", 1)[1].split("-")[0])
        layout[name] = (pe_start + first * extent, int(size))
    return layout


def lvm_forget(device, vg):
    """Remove the VG and PV label so the host's LVM forgets them (before the loop goes)."""
    config = ["--config", "global/activation=0"]
    sh("vgremove", "-q", "-f", *(config + [vg]), check=False)
    sh("pvremove", "-q", "-ff", "-y", *(config + [device]), check=False)


def build_lvm(folder, vg="imgrepairvg"):
    """MBR: 1 ext4 /boot, 2 an LVM PV with VG ``vg``: LV swap, LV root ext4 (/dev/mapper/VG-root
    in fstab). The PV label stays on the disk; the host forgets the VG when the loop goes."""
    path = os.path.join(folder, "lvm.img")
    parts = partition(path, 96, "label: dos\nstart=1MiB, size=16MiB, type=83\nstart=17MiB, type=8e\n")
    root_uuid, boot_uuid = new_uuid(), new_uuid()
    tree = guest_tree(tmp_tree(folder, "lvm-root"),
                      "/dev/mapper/%s-root / ext4 defaults 0 1\nUUID=%s /boot ext4 defaults 0 2\n"
                      "/dev/%s/swap none swap sw 0 0\n" % (vg, boot_uuid, vg), files={"etc/marker": "guest\n"})
    fs_on_partition(path, parts, 1, "ext4", fs_uuid=boot_uuid)
    start, size = parts[2]
    with loop(path, start, size) as device:
        try:
            lvs = lvm_create(device, vg, [("swap", "8M"), ("root", "40M")])
        finally:
            sh("vgchange", "--config", "global/activation=0", "-q", "--activate", "n", vg, check=False)
        with loop(path, start + lvs["root"][0], lvs["root"][1]) as lv_device:
            make_fs(lv_device, "ext4", fs_uuid=root_uuid, tree=tree)
    return Built(path, root_uuid=root_uuid, boot_uuid=boot_uuid, vg=vg, lvs=lvs, parts=parts)


# -- the agent as a user runs it ----------------------------------------------------------------
def agent(*argv, **kwargs):
    """``python -m image_repair.agent ARGV`` as a separate process: (exit status, stdout, stderr)."""
    import sys
    result = subprocess.run([sys.executable, "-m", "image_repair.agent"] + [str(a) for a in argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                            env=dict(os.environ, **kwargs.get("env", {})))
    return result.returncode, result.stdout, result.stderr


def folder_state(folder):
    """{name: sha256} of the files in ``folder``: proof that a command wrote nothing there."""
    return dict((name, file_hash(os.path.join(folder, name)) if os.path.isfile(os.path.join(folder, name)) else None)
                for name in sorted(os.listdir(folder)))


def e2fsck_clean(path, start, size):
    """e2fsck -fn of the ext filesystem at ``start`` in ``path``: (clean?, output)."""
    with loop(path, start, size, read_only=True) as device:
        result = subprocess.run(["e2fsck", "-fn", device], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True)
    return result.returncode == 0, result.stdout
