"""NetworkManager keyfiles: /etc/NetworkManager/system-connections/*.nmconnection (INI).

The primary connection is the ethernet one bound to eth0 (``interface-name=eth0``), else to the
primary predictable name, else an ethernet connection bound only by MAC (``mac-address=``, which
matches no NIC on ECS). It becomes: ``interface-name=eth0``, ``id=eth0``, no MAC binding,
``[ipv4] method=auto`` without static addresses, routes or DNS; its uuid and everything else are
kept. NetworkManager ignores keyfiles readable by others: written with mode 0600."""
import re
import uuid

from . import PRIMARY, NetPlan, lines_with_endings, pick_primary, renamed_path

DIRECTORY = "/etc/NetworkManager/system-connections"
MODE = 0o600
_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_KEYVAL = re.compile(r"^\s*([^=#;\s][^=]*?)\s*=\s*(.*?)\s*$")
IPV4_STATIC = re.compile(r"^(address|addresses|route|routes|gateway|dns|dns-search)\d*(?:_options)?$")


def parse(text):
    """{section: {key: value}} (last wins)."""
    sections = {}
    current = None
    for line in (text or "").splitlines():
        match = _SECTION.match(line)
        if match:
            current = sections.setdefault(match.group(1).strip(), {})
            continue
        match = _KEYVAL.match(line)
        if match and current is not None:
            current[match.group(1)] = match.group(2)
    return sections


def new_connection(connection_uuid=None):
    return ("[connection]\nid=eth0\nuuid=%s\ntype=ethernet\ninterface-name=eth0\n\n[ethernet]\n\n"
            "[ipv4]\nmethod=auto\n\n[ipv6]\naddr-gen-mode=default\nmethod=auto\n"
            % (connection_uuid or str(uuid.uuid4())))


def _is_ethernet(sections):
    return sections.get("connection", {}).get("type", "") in ("ethernet", "802-3-ethernet")


def healthy(sections):
    ipv4 = sections.get("ipv4", {})
    return (ipv4.get("method", "auto") == "auto"
            and not any(IPV4_STATIC.match(k) and k not in ("dns-search",) for k in ipv4)
            and not sections.get("ethernet", {}).get("mac-address"))


def edit(text, set_values, drop):
    """The keyfile with {(section, key): value} set and keys for which ``drop(section, key)``
    holds removed; missing sections are appended."""
    lines, ending, _final = lines_with_endings(text)
    out = []
    current = None
    done = set()

    def flush_missing(section):
        for (sec, key), value in set_values.items():
            if sec == section and (sec, key) not in done:
                out.append("%s=%s" % (key, value))
                done.add((sec, key))

    for line in lines:
        match = _SECTION.match(line)
        if match:
            if current is not None:
                while out and not out[-1].strip():
                    out.pop()
                flush_missing(current)
                out.append("")
            current = match.group(1).strip()
            out.append(line)
            continue
        keyval = _KEYVAL.match(line)
        if keyval and current is not None:
            key = keyval.group(1)
            if drop(current, key):
                continue
            if (current, key) in set_values:
                if (current, key) in done:
                    continue
                done.add((current, key))
                line = "%s=%s" % (key, set_values[(current, key)])
        out.append(line)
    if current is not None:
        while out and not out[-1].strip():
            out.pop()
        flush_missing(current)
    missing_sections = []
    for (sec, key), value in set_values.items():
        if (sec, key) not in done and sec not in missing_sections:
            missing_sections.append(sec)
    for section in missing_sections:
        out.extend(["", "[%s]" % section])
        flush_missing(section)
    return ending.join(out) + ending


def plan(files):
    """``files``: {path: text} of the keyfiles."""
    result = NetPlan()
    ethernet = []   # (path, sections, bound name or None)
    for path in sorted(files):
        if not path.endswith(".nmconnection"):
            continue
        sections = parse(files[path])
        if _is_ethernet(sections):
            ethernet.append((path, sections, sections.get("connection", {}).get("interface-name")))
    primary = pick_primary([name for _p, _s, name in ethernet if name])
    chosen = [e for e in ethernet if primary and e[2] == primary]
    if not chosen:
        # a connection bound only by MAC address was the primary NIC's on the old hypervisor
        chosen = [e for e in ethernet if not e[2] and e[1].get("ethernet", {}).get("mac-address")]
    if not chosen:
        result.write(DIRECTORY + "/eth0.nmconnection", new_connection(),
                     "NetworkManager: no connection for eth0: eth0.nmconnection created (DHCP)")
        result.created = True
        result.configured = True
        return result

    def drop(section, key):
        if section == "ethernet" and key in ("mac-address", "cloned-mac-address"):
            return True
        return section == "ipv4" and bool(IPV4_STATIC.match(key)) and key != "dns-search"

    # NetworkManager may activate any of them (autoconnect priority, last use): all are fixed
    for path, sections, name in chosen:
        if name == PRIMARY and healthy(sections):
            continue
        set_values = {("connection", "interface-name"): PRIMARY, ("ipv4", "method"): "auto"}
        if sections.get("connection", {}).get("id") in (name, None) or name is None:
            set_values[("connection", "id")] = PRIMARY
        new = edit(files[path], set_values, drop)
        target = renamed_path(path, name) if name else path
        if target != path and (target in files or target in result.writes):
            target = path   # never overwrite another connection
        result.write(target, new, "NetworkManager: %s: %s -> eth0 by DHCP (method=auto, no MAC binding)"
                     % (path, name or "bound by MAC address"))
        if target != path:
            result.remove(path, "NetworkManager: %s replaced by %s" % (path, target))
    result.configured = True
    return result
