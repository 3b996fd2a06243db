"""assist and aegis: installed from the package URL given (served from 127.0.0.1), or a clear failure."""
import os


from image_repair.agent import engine
from tests.fixtures.guests import build_guest
from tests.fixtures.stubs_initramfs import make_guest


def test_without_urls_both_fail_and_say_which_option(tmp_path):
    tree = build_guest(tmp_path, "centos7")
    results = engine.repair(make_guest(tree, "centos7"), ["assist", "aegis"])
    assert [r.status for r in results] == ["failed", "failed"]
    assert "--assist-package-url" in results[0].error
    assert "--aegis-package-url" in results[1].error
    assert not os.path.exists(str(tree / "usr/local/aegis"))
