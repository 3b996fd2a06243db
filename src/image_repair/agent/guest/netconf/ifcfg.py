"""RHEL initscripts / NetworkManager ifcfg-rh: /etc/sysconfig/network-scripts/ifcfg-<name>.

eth0 healthy: BOOTPROTO=dhcp, ONBOOT=yes, no static address and no MAC binding (HWADDR/MACADDR:
the MAC changes on ECS, and a mismatching HWADDR leaves the NIC down)."""
import re

from . import PRIMARY, NetPlan, pick_primary, renamed_path
from . import sysconfig

DIRECTORY = "/etc/sysconfig/network-scripts"
STATIC_KEYS = ("IPADDR", "NETMASK", "PREFIX", "GATEWAY", "NETWORK", "BROADCAST", "DNS1", "DNS2", "DNS3")
# IPADDR1, PREFIX0, GATEWAY2... (secondary addresses) and the bindings to a device or profile
DROP_PATTERN = r"^(IPADDR|NETMASK|PREFIX|PREFIXLEN|GATEWAY|DNS|LABEL)_?\w*\d+$"
BINDINGS = ("HWADDR", "MACADDR", "UUID")
WANTED = {"DEVICE": PRIMARY, "NAME": PRIMARY, "BOOTPROTO": "dhcp", "ONBOOT": "yes"}
NEW_FILE = "DEVICE=eth0\nNAME=eth0\nTYPE=Ethernet\nBOOTPROTO=dhcp\nONBOOT=yes\n"


def interface_of(path, values):
    return values.get("DEVICE") or path.rpartition("/")[2][len("ifcfg-"):]


def problems(values):
    found = []
    if values.get("BOOTPROTO", "none").lower() != "dhcp":
        found.append("BOOTPROTO=%s" % (values.get("BOOTPROTO") or "(none)"))
    if values.get("ONBOOT", "yes").lower() not in ("yes", "true", "1"):
        found.append("ONBOOT=%s" % values.get("ONBOOT"))
    found.extend("%s=%s" % (k, values[k]) for k in STATIC_KEYS + ("HWADDR", "MACADDR") if values.get(k))
    found.extend("%s=%s" % (k, values[k]) for k in sorted(values)
                 if k not in STATIC_KEYS and re.match(DROP_PATTERN, k) and values[k])
    return found


def plan(files, directory=DIRECTORY, new_file=NEW_FILE, wanted=None, bindings=BINDINGS,
         label="ifcfg", find_problems=problems):
    """Plan eth0 by DHCP among ``files`` ({path: text} of ifcfg-* files). The parameters let
    SUSE's wicked files (same syntax, other keys) share this planner."""
    wanted = wanted or WANTED
    result = NetPlan()
    by_name = {}
    for path in sorted(files):
        if path.rpartition("/")[2].startswith("ifcfg-") and not path.endswith(("~", ".bak", ".orig", ".rpmsave")):
            by_name.setdefault(interface_of(path, sysconfig.parse(files[path])), path)
    primary = pick_primary([n for n in by_name if n != "lo"])
    if primary is None:
        result.write(directory + "/ifcfg-" + PRIMARY, new_file,
                     "%s: no configuration for eth0: created with DHCP" % label)
        result.created = True
        result.configured = True
        return result
    path = by_name[primary]
    values = sysconfig.parse(files[path])
    found = find_problems(values)
    if primary == PRIMARY and not found:
        result.configured = True
        return result
    set_values = dict((k, v) for k, v in wanted.items() if k in values or k in ("BOOTPROTO", "ONBOOT", "STARTMODE"))
    if "DEVICE" in wanted:
        set_values["DEVICE"] = PRIMARY
    new = sysconfig.edit(files[path], set_values, STATIC_KEYS + tuple(bindings),
                         drop_pattern=DROP_PATTERN)
    target = renamed_path(path, primary)
    why = "%s: %s %s (%s) -> eth0 by DHCP" % (label, path, primary, ", ".join(found) or "renamed")
    result.write(target, new, why)
    if target != path:
        result.remove(path, "%s: %s replaced by %s" % (label, path, target))
    result.configured = True
    return result
