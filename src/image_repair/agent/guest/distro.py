"""Which distribution the guest is: os-release first, then the legacy release files.

Pure reading through GuestFS. The answer is an id (os-release ``ID`` spelling, lower case), a
version, a human name, a family (RHEL, Debian, SUSE) and the ECS ``Platform`` name that
DescribeImages reports for such an image.
"""
import re

from .model import DEBIAN as FAMILY_DEBIAN
from .model import RHEL as FAMILY_RHEL
from .model import SUSE as FAMILY_SUSE
from .model import UNKNOWN as FAMILY_UNKNOWN

OS_RELEASE_FILES = ("/etc/os-release", "/usr/lib/os-release")

# os-release ID -> family, for the distributions the agent supports.
ID_FAMILIES = {
    "centos": FAMILY_RHEL, "rhel": FAMILY_RHEL, "redhat": FAMILY_RHEL, "rocky": FAMILY_RHEL,
    "almalinux": FAMILY_RHEL, "anolis": FAMILY_RHEL, "alinux": FAMILY_RHEL, "aliyun": FAMILY_RHEL,
    "ol": FAMILY_RHEL, "fedora": FAMILY_RHEL, "kylin": FAMILY_RHEL, "openeuler": FAMILY_RHEL,
    "debian": FAMILY_DEBIAN, "ubuntu": FAMILY_DEBIAN, "uos": FAMILY_DEBIAN,
    "sles": FAMILY_SUSE, "sled": FAMILY_SUSE, "sles_sap": FAMILY_SUSE, "opensuse": FAMILY_SUSE,
    "opensuse-leap": FAMILY_SUSE, "opensuse-tumbleweed": FAMILY_SUSE,
}
# IDs used both by an RPM and a Debian-based edition (Kylin Desktop and UOS Desktop are Debian
# based, Kylin Advanced Server and UOS "e" editions are RPM based): the package database decides.
AMBIGUOUS_IDS = ("kylin", "uos")
# ID_LIKE words -> family, for derivatives we do not know by name.
LIKE_FAMILIES = (("rhel", FAMILY_RHEL), ("fedora", FAMILY_RHEL), ("centos", FAMILY_RHEL),
                 ("suse", FAMILY_SUSE), ("opensuse", FAMILY_SUSE),
                 ("debian", FAMILY_DEBIAN), ("ubuntu", FAMILY_DEBIAN))

# os-release ID -> ECS Platform (DescribeImages spelling; CreateImage wants "RedHat" for "Red Hat").
PLATFORMS = {
    "centos": "CentOS", "rhel": "Red Hat", "redhat": "Red Hat", "rocky": "Rocky Linux",
    "almalinux": "AlmaLinux", "anolis": "Anolis", "alinux": "Aliyun", "aliyun": "Aliyun",
    "kylin": "Kylin", "fedora": "Fedora", "debian": "Debian", "ubuntu": "Ubuntu", "uos": "UOS",
    "sles": "SUSE", "sled": "SUSE", "sles_sap": "SUSE", "opensuse": "OpenSUSE",
    "opensuse-leap": "OpenSUSE", "opensuse-tumbleweed": "OpenSUSE",
}
OTHER_PLATFORM = "Others Linux"

# Legacy "<name> release <version>" files, most specific first (a derivative also ships
# /etc/redhat-release, often naming RHEL), with the name patterns that give the ID.
LEGACY_RELEASE_FILES = ("/etc/centos-release", "/etc/alinux-release", "/etc/anolis-release",
                        "/etc/oracle-release", "/etc/kylin-release", "/etc/rocky-release",
                        "/etc/almalinux-release", "/etc/fedora-release", "/etc/redhat-release",
                        "/etc/system-release")
LEGACY_NAMES = (
    (re.compile(r"^CentOS Stream\b", re.I), "centos"),
    (re.compile(r"^CentOS\b", re.I), "centos"),
    (re.compile(r"^(Alibaba Cloud Linux|Aliyun Linux)\b", re.I), "alinux"),
    (re.compile(r"^Anolis\b", re.I), "anolis"),
    (re.compile(r"^Oracle Linux\b|^Enterprise Linux Enterprise Linux\b", re.I), "ol"),
    (re.compile(r"^(Kylin|NeoKylin)\b", re.I), "kylin"),
    (re.compile(r"^Rocky Linux\b", re.I), "rocky"),
    (re.compile(r"^AlmaLinux\b", re.I), "almalinux"),
    (re.compile(r"^Fedora\b", re.I), "fedora"),
    (re.compile(r"^Red Hat Enterprise Linux\b", re.I), "rhel"),
)
_RELEASE_LINE = re.compile(r"^(?P<name>.*?)\s+release\s+(?P<version>\S+)", re.I)
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
_CODENAME_IN_VERSION = re.compile(r"\(([A-Za-z]+)\)")
_SUSE_KEY = re.compile(r"^\s*(VERSION|PATCHLEVEL)\s*=\s*(\S+)", re.M)


class Distribution(object):
    """What the release files say. ``family`` is FAMILY_UNKNOWN when nothing identifies it."""

    def __init__(self, distro_id=None, version_id=None, pretty_name=None, family=FAMILY_UNKNOWN,
                 platform=OTHER_PLATFORM, codename=None, source=None):
        self.distro_id = distro_id
        self.version_id = version_id
        self.pretty_name = pretty_name
        self.family = family
        self.platform = platform
        self.codename = codename
        self.source = source  # the guest file the identity was read from


def _unquote(value):
    """An os-release value: double quotes (with \\ escapes), single quotes, or bare."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r'\\(["$`\\])', r"\1", value[1:-1])
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    if value[:1] in ("'", '"'):   # unterminated quote: keep what follows it
        return value[1:]
    return value.split(" #", 1)[0].strip()


def parse_os_release(text):
    """``{KEY: value}`` from os-release (or lsb-release) text. Comments, blank and malformed
    lines are ignored; a later assignment wins, as when the file is sourced by a shell."""
    values = {}
    for line in (text or "").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _ASSIGNMENT.match(line)
        if match:
            values[match.group(1)] = _unquote(match.group(2))
    return values


def read_os_release(fs):
    """The parsed os-release of the guest ({} when it has none) and the path read."""
    for path in OS_RELEASE_FILES:
        text = fs.read_text(path)
        if text is not None and text.strip():
            return parse_os_release(text), path
    return {}, None


def family_of(distro_id, id_like, fs):
    """Family from the ID, else ID_LIKE, else the package database present in the guest."""
    by_database = _family_by_package_database(fs)
    if distro_id in AMBIGUOUS_IDS and by_database != FAMILY_UNKNOWN:
        return by_database
    if distro_id in ID_FAMILIES:
        return ID_FAMILIES[distro_id]
    if distro_id and distro_id.startswith("opensuse"):
        return FAMILY_SUSE
    words = (id_like or "").lower().split()
    for like, family in LIKE_FAMILIES:
        if like in words:
            return family
    return by_database if distro_id else FAMILY_UNKNOWN


def _family_by_package_database(fs):
    if fs.isfile("/var/lib/dpkg/status"):
        return FAMILY_DEBIAN
    if fs.isdir("/var/lib/rpm") or fs.isdir("/usr/lib/sysimage/rpm"):
        if fs.isdir("/etc/zypp"):
            return FAMILY_SUSE
        return FAMILY_RHEL
    return FAMILY_UNKNOWN


def platform_of(distro_id, name):
    if distro_id == "centos" and "stream" in (name or "").lower():
        return "CentOS Stream"
    return PLATFORMS.get(distro_id, OTHER_PLATFORM)


def _from_os_release(fs, values, path):
    distro_id = (values.get("ID") or "").strip().lower() or None
    if distro_id is None:
        return None
    version = values.get("VERSION_ID") or None
    name = values.get("PRETTY_NAME") or " ".join(
        filter(None, [values.get("NAME"), values.get("VERSION")])) or None
    codename = values.get("VERSION_CODENAME") or values.get("UBUNTU_CODENAME") or _old_codename(fs, values)
    if version is None and distro_id == "debian":   # testing/sid: no VERSION_ID
        version = _debian_version(fs)
    return Distribution(distro_id, version, name, family_of(distro_id, values.get("ID_LIKE"), fs),
                        platform_of(distro_id, " ".join([values.get("NAME", ""), name or ""])),
                        codename, path)


def _old_codename(fs, values):
    """Debian 8 says only VERSION="8 (jessie)"; Ubuntu 14.04 keeps it in /etc/lsb-release."""
    match = _CODENAME_IN_VERSION.search(values.get("VERSION", ""))
    if match and values.get("ID", "").lower() == "debian":
        return match.group(1).lower()
    return parse_os_release(fs.read_text("/etc/lsb-release")).get("DISTRIB_CODENAME") or None


def _debian_version(fs):
    text = (fs.read_text("/etc/debian_version") or "").strip()
    return text if text and text[0].isdigit() else None


def _from_legacy(fs):
    for path in LEGACY_RELEASE_FILES:
        line = (fs.read_text(path) or "").strip().split("\n")[0].strip()
        if not line:
            continue
        match = _RELEASE_LINE.match(line)
        name = match.group("name") if match else line
        distro_id = next((i for pattern, i in LEGACY_NAMES if pattern.search(name)), None)
        if distro_id is None:
            continue
        version = match.group("version") if match else None
        return Distribution(distro_id, version, line, family_of(distro_id, None, fs),
                            platform_of(distro_id, name), None, path)
    suse = fs.read_text("/etc/SuSE-release")
    if suse and suse.strip():
        first = suse.strip().split("\n")[0].strip()
        keys = dict(_SUSE_KEY.findall(suse))
        version = keys.get("VERSION")
        if version and keys.get("PATCHLEVEL") and "." not in version:
            version = "%s.%s" % (version, keys["PATCHLEVEL"])
        distro_id = "opensuse" if first.lower().startswith("opensuse") else "sles"
        return Distribution(distro_id, version, first, FAMILY_SUSE, platform_of(distro_id, first), None,
                            "/etc/SuSE-release")
    lsb = parse_os_release(fs.read_text("/etc/lsb-release"))
    lsb_id = (lsb.get("DISTRIB_ID") or "").strip().lower()
    if lsb_id:
        return Distribution(lsb_id, lsb.get("DISTRIB_RELEASE") or None,
                            lsb.get("DISTRIB_DESCRIPTION") or None, family_of(lsb_id, None, fs),
                            platform_of(lsb_id, ""), lsb.get("DISTRIB_CODENAME") or None, "/etc/lsb-release")
    debian = (fs.read_text("/etc/debian_version") or "").strip()
    if debian:
        version = debian if debian[0].isdigit() else None
        return Distribution("debian", version, "Debian GNU/Linux %s" % debian, FAMILY_DEBIAN, "Debian",
                            None, "/etc/debian_version")
    return None


def detect_distribution(fs):
    """The guest's :class:`Distribution`; an empty one (family unknown) when nothing says."""
    values, path = read_os_release(fs)
    found = _from_os_release(fs, values, path) if values else None
    if found is None:
        found = _from_legacy(fs)
    if found is None and values:
        # an os-release without ID: unknown, but its name still tells a person what it is
        name = values.get("PRETTY_NAME") or values.get("NAME") or None
        return Distribution(None, values.get("VERSION_ID") or None, name, source=path)
    return found or Distribution()


def dpkg_packages(fs):
    """Names of the packages /var/lib/dpkg/status lists as installed (None without dpkg)."""
    text = fs.read_text("/var/lib/dpkg/status")
    if text is None:
        return None
    installed = set()
    for stanza in re.split(r"\n\s*\n", text):
        fields = dict(_DPKG_FIELD.findall(stanza))
        if fields.get("Package") and fields.get("Status", "").split()[-1:] == ["installed"]:
            installed.add(fields["Package"].strip())
    return installed


_DPKG_FIELD = re.compile(r"^(Package|Status):[ \t]*(.*?)[ \t]*$", re.M)
