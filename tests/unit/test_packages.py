"""Package installs in fixture guests: the guest's own manager, the mirror switched in and the
original repository configuration restored exactly; package files downloaded from 127.0.0.1."""
import os

import pytest

from image_repair.agent.errors import AgentError, BadInput
from image_repair.agent.guest import packages
from tests.fixtures.guests import build_guest
from tests.fixtures.stubs_initramfs import make_guest

KEEP = " ".join(packages.APT_KEEP_CONFIG)


def snapshot(tree, *folders):
    """{path: (inode, bytes or link target)} of the repository configuration."""
    found = {}
    for folder in folders:
        base = os.path.join(str(tree), folder.lstrip("/"))
        paths = [base] if not os.path.isdir(base) else [base] + [os.path.join(d, n) for d, ds, fs in os.walk(base) for n in ds + fs]
        for path in paths:
            if os.path.islink(path):
                found[path] = (os.lstat(path).st_ino, os.readlink(path))
            elif os.path.isfile(path):
                found[path] = (os.stat(path).st_ino, open(path, "rb").read(), os.stat(path).st_mode)
            elif os.path.isdir(path):
                found[path] = (os.stat(path).st_ino, None, os.stat(path).st_mode)
    return found


def test_install_commands():
    assert packages.install_commands("apt", ["cloud-init"]) == [
        ["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", *packages.APT_KEEP_CONFIG, "cloud-init"]]
    assert packages.install_commands("dnf", ["a", "b"]) == [["dnf", "-y", "install", "a", "b"]]
    assert packages.install_commands("yum", ["a"]) == [["yum", "-y", "install", "a"]]
    assert packages.install_commands("zypper", ["a"]) == [["zypper", "--non-interactive", "install", "a"]]
    with pytest.raises(AgentError, match="no supported package manager"):
        packages.install_commands(None, ["a"])


def test_mirror_urls_and_package_kind():
    assert packages.mirror_urls("http://m/a, http://m/b") == ["http://m/a", "http://m/b"]
    assert packages.mirror_urls(None) == []
    with pytest.raises(BadInput):
        packages.mirror_urls("mirror.example.com/debian")
    assert packages.package_kind("http://h/aliyun_assist_latest.deb?x=1", "debian") == "deb"
    assert packages.package_kind("http://h/agent", "rhel") == "rpm"
    assert packages.package_kind("http://h/agent", "debian") == "deb"
    assert packages.package_kind("http://h/AliAqsInstall_64.sh", "suse") == "sh"
    with pytest.raises(AgentError, match="does not fit"):
        packages.package_kind("http://h/x.rpm", "debian")


def test_mirror_configuration_per_family(tmp_path):
    debian = make_guest(build_guest(tmp_path, "debian11"), "debian11")
    aside, files = packages.mirror_config(debian, ["http://127.0.0.1:8080/debian"])
    assert aside == ["/etc/apt/sources.list", "/etc/apt/sources.list.d"]
    assert files["/etc/apt/sources.list"].splitlines()[1:] == [
        "deb http://127.0.0.1:8080/debian bullseye main", "deb http://127.0.0.1:8080/debian bullseye-updates main"]
    ubuntu = make_guest(build_guest(tmp_path, "ubuntu2204"), "ubuntu2204")
    # This os-release has no codename: /etc/lsb-release gives it.
    _aside, files = packages.mirror_config(ubuntu, ["http://m/ubuntu"])
    assert "deb http://m/ubuntu jammy-updates main restricted universe\n" in files["/etc/apt/sources.list"]
    (tmp_path / "ubuntu2204/etc/lsb-release").unlink()
    with pytest.raises(AgentError, match="codename"):
        packages.mirror_config(make_guest(tmp_path / "ubuntu2204", "ubuntu2204"), ["http://m/ubuntu"])
    rocky = make_guest(build_guest(tmp_path, "rocky9"), "rocky9")
    (tmp_path / "rocky9/etc/pki/rpm-gpg").mkdir(parents=True)
    (tmp_path / "rocky9/etc/pki/rpm-gpg/RPM-GPG-KEY-Rocky-9").write_text("key\n")
    aside, files = packages.mirror_config(rocky, ["http://m/$releasever/BaseOS/$basearch/os/",
                                                  "http://m/$releasever/AppStream/$basearch/os/"])
    assert aside == ["/etc/yum.repos.d"]
    repo = files["/etc/yum.repos.d/image-repair-mirror.repo"]
    assert "baseurl=http://m/$releasever/BaseOS/$basearch/os/\n" in repo and "[image-repair-mirror-2]" in repo
    assert "gpgcheck=1\ngpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-Rocky-9" in repo
    sles = make_guest(build_guest(tmp_path, "sles15"), "sles15")
    aside, files = packages.mirror_config(sles, ["http://m/sles"])
    assert aside == ["/etc/zypp/repos.d"] and "baseurl=http://m/sles\n" in files["/etc/zypp/repos.d/image-repair-mirror.repo"]


def test_interrupted_run_is_recovered_first(tmp_path):
    tree = build_guest(tmp_path, "sles15")
    (tree / "etc/zypp/repos.d.image-repair-orig").mkdir(parents=True)
    (tree / "etc/zypp/repos.d.image-repair-orig/SLES.repo").write_text("[sles]\n")
    (tree / "etc/zypp/repos.d").mkdir()
    (tree / "etc/zypp/repos.d/image-repair-mirror.repo").write_text("[image-repair-mirror-1]\n")
    guest = make_guest(tree, "sles15")
    packages.restore_aside(guest, ["/etc/zypp/repos.d"])
    assert os.listdir(str(tree / "etc/zypp/repos.d")) == ["SLES.repo"]
    assert not os.path.exists(str(tree / "etc/zypp/repos.d.image-repair-orig"))


def test_dry_run_records_only(tmp_path):
    tree = build_guest(tmp_path, "debian12")
    (tree / "etc/apt").mkdir(parents=True, exist_ok=True)
    (tree / "etc/apt/sources.list").write_text("deb http://deb.debian.org/debian bookworm main\n")
    before = snapshot(tree, "/etc/apt", "/var/tmp")
    guest = make_guest(tree, "debian12", dry_run=True, mirror_url="http://127.0.0.1:9/debian")
    packages.install(guest, ["cloud-init"])
    packages.install_package_file(guest, "http://127.0.0.1:9/aliyun_assist_latest.deb")
    assert guest.fs.record.commands == [
        "apt-get update", "apt-get install -y --no-install-recommends " + KEEP + " cloud-init",
        "download http://127.0.0.1:9/aliyun_assist_latest.deb to /var/tmp/image-repair-aliyun_assist_latest.deb",
        "dpkg -i /var/tmp/image-repair-aliyun_assist_latest.deb"]
    assert "temporary (restored afterwards) /etc/apt/sources.list" in guest.fs.record.diffs[0]
    assert snapshot(tree, "/etc/apt", "/var/tmp") == before
