"""systemd-networkd: /etc/systemd/network/*.network.

eth0 is configured when a .network file whose ``[Match] Name=`` matches eth0 (globs such as
``en* eth*`` count) has ``DHCP=yes|ipv4|true`` and no static ``Address=`` or MAC match. The file
of eth0 (or of the primary predictable name, or one matching only ``MACAddress=``) is replaced
by a known-good one, renamed after eth0 when its name said the old interface; networkd uses the
first file in lexical order that matches, so the replacement keeps the original's place."""
import fnmatch
import re

from . import PRIMARY, NetPlan, pick_primary, renamed_path

DIRECTORY = "/etc/systemd/network"
_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_KEYVAL = re.compile(r"^\s*([A-Za-z0-9]+)\s*=\s*(.*?)\s*$")


def known_good():
    return ("# image-repair: eth0 by DHCP for Alibaba Cloud ECS\n[Match]\nName=eth0\n\n"
            "[Network]\nDHCP=yes\n")


def parse(text):
    """[(section, key, value)] in order (keys repeat in networkd: Address=, DNS=)."""
    out = []
    section = None
    for line in (text or "").splitlines():
        match = _SECTION.match(line)
        if match:
            section = match.group(1).strip()
            continue
        if line.strip().startswith(("#", ";")):
            continue
        match = _KEYVAL.match(line)
        if match and section:
            out.append((section, match.group(1), match.group(2)))
    return out


def match_names(entries):
    names = []
    for section, key, value in entries:
        if section == "Match" and key == "Name":
            names.extend(value.split())
    return names


def matches_eth0(entries):
    return any(fnmatch.fnmatchcase(PRIMARY, pattern) for pattern in match_names(entries))


def healthy(entries):
    dhcp = [v.lower() for s, k, v in entries if s == "Network" and k == "DHCP"]
    static = [k for s, k, _v in entries if (s == "Network" and k in ("Address", "Gateway")) or s == "Address"]
    mac = [k for s, k, _v in entries if s == "Match" and k in ("MACAddress", "PermanentMACAddress")]
    return bool(dhcp) and dhcp[-1] in ("yes", "ipv4", "true", "both") and not static and not mac


def plan(files):
    """``files``: {path: text} of /etc/systemd/network/*.network."""
    result = NetPlan()
    networks = [(p, parse(files[p])) for p in sorted(files, key=lambda p: p.rpartition("/")[2])
                if p.endswith(".network")]
    # networkd applies the first matching file: the one for eth0 decides
    for path, entries in networks:
        if matches_eth0(entries):
            if healthy(entries):
                result.configured = True
                return result
            result.write(path, known_good(), "systemd-networkd: %s matches eth0 without DHCP (or with a "
                         "static address / MAC match): replaced" % path)
            result.configured = True
            return result
    names = [n for _p, entries in networks for n in match_names(entries) if not any(c in n for c in "*?[")]
    primary = pick_primary(names)
    chosen = [(p, e) for p, e in networks if primary and primary in match_names(e)]
    if not chosen:
        chosen = [(p, e) for p, e in networks
                  if not match_names(e) and any(s == "Match" and k == "MACAddress" for s, k, _v in e)]
    if not chosen:
        path = DIRECTORY + "/10-eth0.network"
        result.write(path, known_good(), "systemd-networkd: no configuration for eth0: %s written" % path)
        result.created = True
        result.configured = True
        return result
    path, _entries = chosen[0]
    target = renamed_path(path, primary) if primary else path
    result.write(target, known_good(), "systemd-networkd: %s (%s) -> eth0 by DHCP" % (path, primary or "MAC match"))
    if target != path:
        result.remove(path, "systemd-networkd: %s replaced by %s" % (path, target))
    result.configured = True
    return result
