"""SUSE wicked / sysconfig: /etc/sysconfig/network/ifcfg-<name> (BOOTPROTO='dhcp',
STARTMODE='auto'; the name comes from the file name), and the global ``routes`` file whose static
default route would override the one DHCP gives (commented out with a note)."""
from . import PRIMARY, lines_with_endings
from . import ifcfg

DIRECTORY = "/etc/sysconfig/network"
ROUTES = DIRECTORY + "/routes"
NEW_FILE = "STARTMODE='auto'\nBOOTPROTO='dhcp'\n"
WANTED = {"BOOTPROTO": "dhcp", "STARTMODE": "auto"}
BINDINGS = ("LLADDR", "HWADDR")
NOTE = "# image-repair: static default route, replaced by DHCP's: "


def problems(values):
    found = []
    if values.get("BOOTPROTO", "static").lower() not in ("dhcp", "dhcp4"):
        found.append("BOOTPROTO=%s" % (values.get("BOOTPROTO") or "(static)"))
    if values.get("STARTMODE", "manual").lower() not in ("auto", "hotplug", "onboot", "nfsroot"):
        found.append("STARTMODE=%s" % (values.get("STARTMODE") or "(manual)"))
    found.extend("%s=%s" % (k, values[k]) for k in ("IPADDR", "NETMASK", "PREFIXLEN", "LLADDR") if values.get(k))
    return found


def plan(files):
    """``files``: {path: text} of /etc/sysconfig/network/ifcfg-* and routes."""
    interfaces = dict((p, t) for p, t in files.items() if p.rpartition("/")[2].startswith("ifcfg-"))
    result = ifcfg.plan(interfaces, DIRECTORY, NEW_FILE, WANTED, BINDINGS, "wicked", problems)
    routes = files.get(ROUTES)
    if routes is not None and (result.writes or result.removes):
        new = comment_default_routes(routes)
        if new != routes:
            result.write(ROUTES, new, "wicked: %s: static default route commented out" % ROUTES)
    return result


def comment_default_routes(text):
    """routes with ``default`` lines (of eth0 or of any interface, ``-``) commented out."""
    lines, ending, final = lines_with_endings(text)
    out = []
    for line in lines:
        fields = line.split()
        if fields and fields[0] == "default" and (len(fields) < 4 or fields[3] in ("-", PRIMARY)):
            line = NOTE + line
        out.append(line)
    return ending.join(out) + (ending if final else "")
