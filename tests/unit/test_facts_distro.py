"""Distribution detection from unusual release files: quoting, comments, missing fields, legacy only."""
import os

import pytest

from image_repair.agent.guest.distro import detect_distribution, parse_os_release
from image_repair.agent.guest.facts import detect_facts
from image_repair.agent.guestfs import GuestFS


def tree_with(tmp_path, files, symlinks=None):
    """A bare guest root holding just ``files`` ({guest path: text}) and ``symlinks``."""
    root = tmp_path / "root"
    root.mkdir()
    for path, text in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for path, destination in (symlinks or {}).items():
        link = root / path.lstrip("/")
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(destination, str(link))
    return GuestFS(str(root))


def test_os_release_quoting_comments_and_malformed_lines():
    text = ("# comment line\n"
            "\n"
            "NAME='Single Quoted'\n"
            'PRETTY_NAME="Say \\"hi\\" \\$HOME"\n'
            "ID=bare\n"
            "  VERSION_ID = \"1.2\"  \n"
            "this line is not an assignment\n"
            "=no name\n"
            'BROKEN="unterminated\n'
            "export ID_LIKE=\"rhel fedora\"\n"
            "ID=later_wins\n")
    values = parse_os_release(text)
    assert values == {"NAME": "Single Quoted", "PRETTY_NAME": 'Say "hi" $HOME', "ID": "later_wins",
                      "VERSION_ID": "1.2", "BROKEN": "unterminated", "ID_LIKE": "rhel fedora"}


def test_os_release_with_crlf_and_uppercase_id(tmp_path):
    fs = tree_with(tmp_path, {"/etc/os-release": 'ID="CentOS"\r\nVERSION_ID="7"\r\nNAME="CentOS Linux"\r\n'})
    found = detect_distribution(fs)
    assert (found.distro_id, found.version_id, found.family, found.platform) == ("centos", "7", "rhel", "CentOS")
    assert found.pretty_name == "CentOS Linux"   # no PRETTY_NAME: NAME (+ VERSION)


def test_usr_lib_os_release_through_an_absolute_symlink(tmp_path):
    # /etc/os-release -> /usr/lib/os-release must resolve inside the guest, not on the host
    fs = tree_with(tmp_path, {"/usr/lib/os-release": 'ID=opensuse-tumbleweed\nVERSION_ID="20240101"\n'},
                   {"/etc/os-release": "/usr/lib/os-release"})
    found = detect_distribution(fs)
    assert (found.distro_id, found.family, found.platform, found.source) == (
        "opensuse-tumbleweed", "suse", "OpenSUSE", "/etc/os-release")


def test_only_usr_lib_os_release(tmp_path):
    fs = tree_with(tmp_path, {"/usr/lib/os-release": 'ID=ubuntu\nVERSION_ID="24.04"\nID_LIKE=debian\n'})
    found = detect_distribution(fs)
    assert (found.distro_id, found.version_id, found.family, found.source) == (
        "ubuntu", "24.04", "debian", "/usr/lib/os-release")


def test_debian_testing_without_version_id_reads_debian_version(tmp_path):
    fs = tree_with(tmp_path, {"/etc/os-release": 'PRETTY_NAME="Debian GNU/Linux trixie/sid"\nID=debian\n'
                                                 'VERSION_CODENAME=trixie\n',
                              "/etc/debian_version": "trixie/sid\n"})
    found = detect_distribution(fs)
    assert (found.distro_id, found.version_id, found.codename, found.family) == ("debian", None, "trixie", "debian")


def test_empty_os_release_falls_back_to_legacy_files(tmp_path):
    fs = tree_with(tmp_path, {"/etc/os-release": "# nothing here\n",
                              "/etc/redhat-release": "Red Hat Enterprise Linux Server release 6.10 (Santiago)\n"})
    found = detect_distribution(fs)
    assert (found.distro_id, found.version_id, found.platform, found.source) == (
        "rhel", "6.10", "Red Hat", "/etc/redhat-release")


@pytest.mark.parametrize("path, text, expected", [
    ("/etc/redhat-release", "Red Hat Enterprise Linux Server release 5.11 (Tikanga)",
     ("rhel", "5.11", "rhel", "Red Hat")),
    ("/etc/centos-release", "CentOS release 6.10 (Final)", ("centos", "6.10", "rhel", "CentOS")),
    ("/etc/centos-release", "CentOS Stream release 8", ("centos", "8", "rhel", "CentOS Stream")),
    ("/etc/oracle-release", "Oracle Linux Server release 6.10", ("ol", "6.10", "rhel", "Others Linux")),
    ("/etc/alinux-release", "Alibaba Cloud Linux (Aliyun Linux) release 2.1903 LTS (Hunting Beagle)",
     ("alinux", "2.1903", "rhel", "Aliyun")),
    ("/etc/anolis-release", "Anolis OS release 8.6", ("anolis", "8.6", "rhel", "Anolis")),
    ("/etc/kylin-release", "Kylin Linux Advanced Server release V10 (Sword)", ("kylin", "V10", "rhel", "Kylin")),
    ("/etc/system-release", "Fedora release 20 (Heisenbug)", ("fedora", "20", "rhel", "Fedora")),
    ("/etc/SuSE-release", "SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\nPATCHLEVEL = 3",
     ("sles", "11.3", "suse", "SUSE")),
    ("/etc/SuSE-release", "openSUSE 13.2 (x86_64)\nVERSION = 13.2\nCODENAME = Harlequin",
     ("opensuse", "13.2", "suse", "OpenSUSE")),
    ("/etc/lsb-release", "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=14.04\nDISTRIB_CODENAME=trusty\n"
                         'DISTRIB_DESCRIPTION="Ubuntu 14.04.6 LTS"', ("ubuntu", "14.04", "debian", "Ubuntu")),
    ("/etc/debian_version", "8.11", ("debian", "8.11", "debian", "Debian")),
])
def test_legacy_release_files(tmp_path, path, text, expected):
    found = detect_distribution(tree_with(tmp_path, {path: text + "\n"}))
    assert (found.distro_id, found.version_id, found.family, found.platform) == expected
    assert found.source == path


def test_a_derivative_release_file_wins_over_its_redhat_release(tmp_path):
    fs = tree_with(tmp_path, {"/etc/redhat-release": "Red Hat Enterprise Linux release 8.9 (Ootpa)\n",
                              "/etc/oracle-release": "Oracle Linux Server release 8.9\n"})
    assert detect_distribution(fs).distro_id == "ol"


def test_an_unknown_legacy_line_is_not_a_distribution(tmp_path):
    fs = tree_with(tmp_path, {"/etc/system-release": "Amazing Homebrew OS release 3\n"})
    found = detect_distribution(fs)
    assert (found.distro_id, found.family, found.platform) == (None, "unknown", "Others Linux")


def test_no_release_file_at_all_gives_unknown_and_still_the_other_facts(tmp_path):
    fs = tree_with(tmp_path, {"/etc/fstab": "/dev/vda1 / ext4 defaults 0 1\n",
                              "/boot/vmlinuz-5.10.0-1-amd64": "k", "/lib/modules/5.10.0-1-amd64/modules.dep": "",
                              "/boot/grub/grub.cfg": "### BEGIN /etc/grub.d/10_linux ###\n"})
    facts = detect_facts(fs)
    assert (facts.family, facts.distro_id, facts.version_id, facts.pretty_name, facts.platform) == (
        "unknown", None, None, None, "Others Linux")
    assert facts.package_manager is None and facts.initramfs_tool is None and facts.network_stacks == []
    assert facts.bootloader == "grub2" and facts.grub_cfg == ["/boot/grub/grub.cfg"]
    assert [k.version for k in facts.kernels] == ["5.10.0-1-amd64"]
    assert facts.kernels[0].initramfs == "/boot/initramfs-5.10.0-1-amd64.img"  # convention, none exists
    assert facts.architecture == "x86_64"   # from the kernel's name: no /bin/sh to read
    assert facts.to_dict()["family"] == "unknown"


@pytest.mark.parametrize("files, family", [
    # an unknown ID with ID_LIKE
    ({"/etc/os-release": "ID=myrhel\nID_LIKE=\"centos rhel fedora\"\n"}, "rhel"),
    ({"/etc/os-release": "ID=mysuse\nID_LIKE=\"suse opensuse\"\n"}, "suse"),
    ({"/etc/os-release": "ID=mint\nID_LIKE=\"ubuntu debian\"\n"}, "debian"),
    # neither known nor ID_LIKE: the package database present
    ({"/etc/os-release": "ID=homebrew\n", "/var/lib/dpkg/status": ""}, "debian"),
    ({"/etc/os-release": "ID=homebrew\n", "/var/lib/rpm/Packages": ""}, "rhel"),
    ({"/etc/os-release": "ID=homebrew\n", "/var/lib/rpm/Packages": "", "/etc/zypp/zypp.conf": ""}, "suse"),
    ({"/etc/os-release": "ID=homebrew\n"}, "unknown"),
    # UOS and Kylin have RPM and Debian-based editions: the package database decides
    ({"/etc/os-release": "ID=uos\nVERSION_ID=20\n", "/var/lib/rpm/Packages": ""}, "rhel"),
    ({"/etc/os-release": "ID=uos\nVERSION_ID=20\n"}, "debian"),
    ({"/etc/os-release": "ID=kylin\nVERSION_ID=V10\n", "/var/lib/dpkg/status": ""}, "debian"),
    ({"/etc/os-release": "ID=kylin\nVERSION_ID=V10\n", "/var/lib/rpm/Packages": ""}, "rhel"),
])
def test_family_of_derivatives_and_ambiguous_ids(tmp_path, files, family):
    assert detect_distribution(tree_with(tmp_path, files)).family == family


def test_platform_of_unlisted_distributions_is_others_linux(tmp_path):
    found = detect_distribution(tree_with(tmp_path, {"/etc/os-release": "ID=mint\nID_LIKE=ubuntu\n"}))
    assert found.platform == "Others Linux"


@pytest.mark.parametrize("files, codename", [
    ({"/etc/os-release": 'ID=debian\nVERSION_ID="8"\nVERSION="8 (jessie)"\n'}, "jessie"),
    ({"/etc/os-release": 'ID=ubuntu\nVERSION_ID="14.04"\nVERSION="14.04.6 LTS, Trusty Tahr"\n',
      "/etc/lsb-release": "DISTRIB_ID=Ubuntu\nDISTRIB_CODENAME=trusty\n"}, "trusty"),
    ({"/etc/os-release": 'ID=ubuntu\nVERSION_ID="22.04"\nVERSION_CODENAME=jammy\nUBUNTU_CODENAME=jammy\n'}, "jammy"),
    ({"/etc/os-release": 'ID=centos\nVERSION_ID="7"\nVERSION="7 (Core)"\n'}, None),
])
def test_codename_of_old_releases(tmp_path, files, codename):
    assert detect_distribution(tree_with(tmp_path, files)).codename == codename


def test_os_release_without_id_uses_legacy_files_or_keeps_its_name(tmp_path):
    fs = tree_with(tmp_path, {"/etc/os-release": 'NAME="Mystery"\nPRETTY_NAME="Mystery Linux 1"\n',
                              "/etc/centos-release": "CentOS Linux release 7.9.2009 (Core)\n"})
    found = detect_distribution(fs)
    assert (found.distro_id, found.version_id, found.family) == ("centos", "7.9.2009", "rhel")
    os.unlink(str(tmp_path / "root/etc/centos-release"))
    found = detect_distribution(fs)
    assert (found.distro_id, found.pretty_name, found.family, found.platform) == (
        None, "Mystery Linux 1", "unknown", "Others Linux")
