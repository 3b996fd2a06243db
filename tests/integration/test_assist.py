"""assist and aegis installed in fixture guests from a package URL served from 127.0.0.1.

The pure cases are in tests/unit/test_assist.py. These run the guest's own (stub)
tools in a chroot, so they need root."""
import os

import pytest

from image_repair.agent import engine
from image_repair.agent.items import aegis, assist
from tests.fixtures.guests import build_guest, read_stub_calls
from tests.fixtures.stubs_initramfs import make_guest
from tests.fixtures.stubs_packages import install_package_stubs
from tests.integration.test_packages import fake_package, http_root  # noqa: F401  (fixture)

pytestmark = pytest.mark.needs_root


def test_assist_deb_on_debian(tmp_path, http_root):  # noqa: F811
    folder, base = http_root
    (folder / "aliyun_assist_latest.deb").write_bytes(fake_package({
        "/usr/local/share/aliyun-assist/2.5.3/aliyun-service": "#!/bin/sh\n",
        "/usr/sbin/aliyun-service": "#!/bin/sh\n"}))
    tree = build_guest(tmp_path, "debian12")
    install_package_stubs(tree, "apt")
    guest = make_guest(tree, "debian12", assist_package_url=base + "/aliyun_assist_latest.deb")
    assert assist.ITEM.detect(guest).at_risk
    [result] = engine.repair(guest, ["assist"])
    assert result.status == "repaired", result.to_dict()
    assert read_stub_calls(tree) == [["dpkg", "-i", "/var/tmp/image-repair-aliyun_assist_latest.deb"]]
    assert not os.listdir(str(tree / "var/tmp"))
    [again] = engine.repair(make_guest(tree, "debian12"), ["assist"])
    assert again.status == "ok"


def test_aegis_shell_installer(tmp_path, http_root):  # noqa: F811
    folder, base = http_root
    # A real shell installer, run by the guest's /bin/sh in the chroot.
    (folder / "AliAqsInstall_64.sh").write_text(
        "#!/bin/sh\nset -e\nmkdir -p /usr/local/aegis/aegis_client\n"
        "echo installed > /usr/local/aegis/aegis_client/version\n")
    tree = build_guest(tmp_path, "rocky9")
    guest = make_guest(tree, "rocky9", aegis_package_url=base + "/AliAqsInstall_64.sh")
    [result] = engine.repair(guest, ["aegis"])
    assert result.status == "repaired", result.to_dict()
    assert (tree / "usr/local/aegis/aegis_client/version").read_text() == "installed\n"
    assert result.changes.commands[-1] == "sh /var/tmp/image-repair-AliAqsInstall_64.sh"
    assert not os.path.exists(str(tree / "var/tmp/image-repair-AliAqsInstall_64.sh"))
    assert not aegis.ITEM.detect(make_guest(tree, "rocky9")).at_risk


def test_installer_that_installs_nothing_is_a_failure(tmp_path, http_root):  # noqa: F811
    folder, base = http_root
    (folder / "installer.sh").write_text("#!/bin/sh\necho 'nothing to do here'\n")
    tree = build_guest(tmp_path, "rocky9")
    [result] = engine.repair(make_guest(tree, "rocky9", aegis_package_url=base + "/installer.sh"), ["aegis"])
    assert result.status == "failed" and result.error == "still at risk after the repair"
