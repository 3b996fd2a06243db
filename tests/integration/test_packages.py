"""Package installs in fixture guests: the guest's own manager, the mirror switched in and the
original repository configuration restored exactly; package files downloaded from 127.0.0.1.

The pure cases are in tests/unit/test_packages.py. These run the guest's own (stub)
tools in a chroot, so they need root."""
import functools
import http.server
import io
import os
import tarfile
import threading

import pytest

from image_repair.agent.errors import AgentError
from image_repair.agent.guest import packages
from tests.fixtures.guests import build_guest, read_stub_calls
from tests.fixtures.stubs_initramfs import make_guest
from tests.fixtures.stubs_packages import REPO_LOG, install_package_stubs
from tests.unit.test_packages import KEEP, snapshot

pytestmark = pytest.mark.needs_root


def test_apt_install_from_mirror_restores_the_sources_exactly(tmp_path):
    tree = build_guest(tmp_path, "debian12")
    install_package_stubs(tree, "apt")
    (tree / "etc/apt/sources.list.d").mkdir(parents=True)
    (tree / "etc/apt/sources.list").write_text("deb http://deb.debian.org/debian bookworm main\n")
    (tree / "etc/apt/sources.list.d/extra.list").write_text("deb http://example.com/x bookworm main\n")
    os.symlink("extra.list", str(tree / "etc/apt/sources.list.d/link.list"))
    before = snapshot(tree, "/etc/apt")
    guest = make_guest(tree, "debian12", mirror_url="http://127.0.0.1:9/debian")
    packages.install(guest, ["cloud-guest-utils"])
    assert read_stub_calls(tree) == [["apt-get", "update"],
                                     ["apt-get", "install", "-y", "--no-install-recommends", *packages.APT_KEEP_CONFIG, "cloud-guest-utils"]]
    during = (tree / REPO_LOG.lstrip("/")).read_text()
    assert "deb http://127.0.0.1:9/debian bookworm main" in during and "example.com" not in during
    assert "policy-rc.d: 101" in during  # no daemon started in the chroot during the install
    assert not os.path.lexists(str(tree / "usr/sbin/policy-rc.d"))
    assert snapshot(tree, "/etc/apt") == before
    assert (tree / "usr/bin/growpart").exists()
    assert guest.fs.record.commands == ["apt-get update", "apt-get install -y --no-install-recommends " + KEEP + " cloud-guest-utils"]


def test_failed_install_still_restores_and_reports(tmp_path):
    tree = build_guest(tmp_path, "rocky9")
    install_package_stubs(tree, "dnf")
    (tree / "etc/yum.repos.d").mkdir(parents=True)
    (tree / "etc/yum.repos.d/rocky.repo").write_text("[baseos]\nmirrorlist=https://mirrors.rockylinux.org/\n")
    (tree / "etc/stub-broken-packages").write_text("cloud-utils-growpart\n")
    before = snapshot(tree, "/etc/yum.repos.d")
    guest = make_guest(tree, "rocky9", mirror_url="http://127.0.0.1:9/rocky/9/BaseOS/x86_64/os/")
    with pytest.raises(AgentError, match="not found on the mirror"):
        packages.install(guest, ["cloud-utils-growpart"])
    assert "image-repair-mirror" in (tree / REPO_LOG.lstrip("/")).read_text()
    assert snapshot(tree, "/etc/yum.repos.d") == before
    assert not os.path.lexists(str(tree / "etc/yum.repos.d.image-repair-orig"))


def fake_package(files):
    """The fixtures' package format (see stubs_packages.LOCAL_PACKAGE): a tar.gz of ``files``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode = len(data), 0o755
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def http_root(tmp_path):
    """A directory served over HTTP on 127.0.0.1; yields (folder, base URL)."""
    folder = tmp_path / "www"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def test_package_file_downloaded_installed_and_removed(tmp_path, http_root):
    folder, base = http_root
    (folder / "aliyun_assist_latest.rpm").write_bytes(fake_package({"/usr/sbin/aliyun-service": "#!/bin/sh\n"}))
    tree = build_guest(tmp_path, "centos7")
    install_package_stubs(tree, "yum")
    guest = make_guest(tree, "centos7")
    packages.install_package_file(guest, base + "/aliyun_assist_latest.rpm")
    assert read_stub_calls(tree) == [["rpm", "-Uvh", "/var/tmp/image-repair-aliyun_assist_latest.rpm"]]
    assert (tree / "usr/sbin/aliyun-service").exists()
    assert not (tree / "var/tmp/image-repair-aliyun_assist_latest.rpm").exists()
    with pytest.raises(AgentError, match="cannot download .*404"):
        packages.install_package_file(guest, base + "/missing.rpm")
    assert os.listdir(str(tree / "var/tmp")) == []
