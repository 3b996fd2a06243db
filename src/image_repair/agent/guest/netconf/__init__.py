"""Network configuration, one module per format, each a pure planner:

    plan(files) -> NetPlan

``files`` maps the guest paths of the format's configuration files to their text; the plan says
which files to write (new text) or remove, and why. The goal is the same in every format: the
primary NIC is ``eth0`` (the grub item and dhcp's own fix ask for ``net.ifnames=0``) and takes its
address by DHCP, without a MAC binding (the MAC changes on ECS). A static configuration of eth0
is replaced; when there is none, the configuration of the primary NIC under its predictable name
(ens33, enp0s3, eno1...) becomes eth0's; configurations of other interfaces are kept.
"""
import re

PRIMARY = "eth0"
# Interface names the primary NIC has on other hypervisors before net.ifnames=0 makes it eth0.
PREDICTABLE = re.compile(r"^(?:ens\d+|enp\d+s\d+(?:f\d+)?|eno\d+|enx[0-9a-f]{12}|em\d+|p\d+p\d+|"
                         r"ens\d+f\d+|enX\d+|eth\d+)$")


class NetPlan(object):
    """What a planner decided: files to write ({path: text}), files to remove, and findings."""

    def __init__(self):
        self.writes = {}
        self.removes = []
        self.findings = []
        self.configured = False   # eth0 by DHCP after the plan (True when nothing was needed)
        self.created = False      # eth0 had no configuration in this format: one is created

    def write(self, path, text, why):
        self.writes[path] = text
        self.findings.append(why)

    def remove(self, path, why):
        if path not in self.removes:
            self.removes.append(path)
        self.findings.append(why)

    def changes(self):
        return bool(self.writes or self.removes)


def is_secondary_candidate(name):
    """A predictable (or ethN, N > 0) name that may be the primary NIC when eth0 has no config."""
    return bool(name) and name != PRIMARY and bool(PREDICTABLE.match(name)) and name != "lo"


def pick_primary(names):
    """The interface name whose configuration is the primary NIC's: eth0 when configured, else
    the first predictable name (ens3 before ens4), else None."""
    if PRIMARY in names:
        return PRIMARY
    candidates = sorted(n for n in names if is_secondary_candidate(n) and not n.startswith("eth"))
    return candidates[0] if candidates else None


def renamed_path(path, old_name):
    """``/dir/ifcfg-ens33`` -> ``/dir/ifcfg-eth0``; a path not naming the interface is kept."""
    folder, _, base = path.rpartition("/")
    if old_name and old_name != PRIMARY and old_name in base:
        return folder + "/" + base.replace(old_name, PRIMARY)
    return path


def lines_with_endings(text):
    """(lines without endings, the file's line ending, whether it ended with a newline)."""
    ending = "\r\n" if "\r\n" in (text or "") else "\n"
    return (text or "").splitlines(), ending, (text or "").endswith("\n")
