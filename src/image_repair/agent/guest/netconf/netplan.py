"""Ubuntu netplan: /etc/netplan/*.yaml, without a YAML library (the agent is stdlib only).

Arbitrary YAML is never edited. What is recognised is the block layout every installer and
cloud-init write (``network:`` > ``ethernets:`` > ``<name>:`` > settings, indented with spaces):
* netplan merges its files, so every block of the primary NIC is handled, in every file;
* a file whose only device is the primary NIC (eth0, or ens33/enp0s3... when eth0 has none) is
  replaced by a known-good file (renderer kept; the original is backed up by GuestFS);
* in a file with other devices too, only the primary NIC's block (its line and the deeper
  indented lines under it) is replaced by an eth0 DHCP block, other devices untouched;
* a file in flow style (``{``/``[`` mappings at the device level), with tabs or anchors, is left
  alone and a new ``/etc/netplan/50-image-repair-eth0.yaml`` configures eth0 instead when no
  other file does.
eth0 is healthy when its block says ``dhcp4: true`` (yes/on/True) with no addresses and no
``match:`` (a MAC binding, which fails on ECS)."""
import re

from . import PRIMARY, NetPlan, pick_primary

DIRECTORY = "/etc/netplan"
OWN_FILE = DIRECTORY + "/50-image-repair-eth0.yaml"
HEADER = "# image-repair: eth0 by DHCP for Alibaba Cloud ECS\n"
DEVICE_SECTIONS = ("ethernets", "bonds", "bridges", "vlans", "wifis", "tunnels", "modems", "vrfs")
_KEY = re.compile(r"^( *)([A-Za-z0-9_.@:-]+|\"[^\"]*\"|'[^']*'):\s*(.*?)\s*(#.*)?$")


def known_good(renderer=None):
    text = HEADER + "network:\n  version: 2\n"
    if renderer:
        text += "  renderer: %s\n" % renderer
    return text + "  ethernets:\n    eth0:\n      dhcp4: true\n"


class Block(object):
    def __init__(self, name, start, end, indent):
        self.name, self.start, self.end, self.indent = name, start, end, indent


def _children(lines, start, end, parent_indent):
    """[(key, line index, indent, value)] of the direct children between start and end."""
    found = []
    child_indent = None
    for index in range(start, end):
        line = lines[index]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent <= parent_indent:
            break
        if child_indent is None:
            child_indent = indent
        if indent == child_indent:
            match = _KEY.match(line)
            if match:
                found.append((match.group(2).strip("\"'"), index, indent, match.group(3)))
            elif line.lstrip().startswith("- "):
                continue
    return found


def _block_end(lines, index, indent):
    end = index + 1
    while end < len(lines):
        line = lines[end]
        if line.strip() and not line.lstrip().startswith("#") and len(line) - len(line.lstrip(" ")) <= indent:
            break
        end += 1
    while end > index + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return end


def analyse(text):
    """(devices {section: [Block]}, renderer, understood) of one netplan file."""
    lines = (text or "").splitlines()
    if any("\t" in l.split("#")[0] for l in lines) or re.search(r"[&*]\w", text or ""):
        return {}, None, False
    top = _children(lines, 0, len(lines), -1)
    network = [c for c in top if c[0] == "network"]
    if not network:
        return {}, None, not top
    _name, net_index, net_indent, value = network[0]
    if value:
        return {}, None, False   # network: {...} flow style
    net_end = _block_end(lines, net_index, net_indent)
    devices = {}
    renderer = None
    for key, index, indent, value in _children(lines, net_index + 1, net_end, net_indent):
        if key == "renderer":
            renderer = value.strip("\"'")
        if key in DEVICE_SECTIONS:
            if value:
                return {}, renderer, False
            end = _block_end(lines, index, indent)
            blocks = []
            for dev, dev_index, dev_indent, dev_value in _children(lines, index + 1, end, indent):
                if dev_value and dev_value != "{}":
                    return {}, renderer, False
                blocks.append(Block(dev, dev_index, _block_end(lines, dev_index, dev_indent), dev_indent))
            devices[key] = blocks
    return devices, renderer, True


def block_is_dhcp(lines, block):
    body = [l.split("#")[0].strip() for l in lines[block.start + 1:block.end]]
    dhcp = any(re.match(r"^dhcp4:\s*(true|yes|on|True|TRUE)$", l) for l in body)
    static = any(l.startswith(("addresses:", "match:", "gateway4:", "set-name:")) for l in body)
    return dhcp and not static


def plan(files):
    """``files``: {path: text} of /etc/netplan/*.yaml."""
    result = NetPlan()
    candidates = []   # (path, block, devices, renderer)
    unreadable = []
    for path in sorted(files):
        devices, renderer, understood = analyse(files[path])
        if not understood:
            unreadable.append(path)
            continue
        for block in devices.get("ethernets", []):
            candidates.append((path, block, devices, renderer))
    primary = pick_primary([c[1].name for c in candidates])
    if primary is None:
        if unreadable:
            result.findings.append("netplan: %s not understood (flow style, tabs or anchors): left alone"
                                   % ", ".join(unreadable))
        result.write(OWN_FILE, known_good(),
                     "netplan: no configuration for eth0: %s written" % OWN_FILE)
        result.created = True
        result.configured = True
        return result
    # netplan merges the files: every block of the primary NIC counts, not only the last one
    by_path = {}
    for path, block, devices, renderer in candidates:
        if block.name == primary:
            by_path[path] = (block, devices, renderer)
    for path in sorted(by_path):
        block, devices, renderer = by_path[path]
        lines = files[path].splitlines()
        if primary == PRIMARY and block_is_dhcp(lines, block):
            continue
        why = "netplan: %s: %s %s -> eth0 by DHCP" % (
            path, primary, "has a static address or a MAC match" if primary == PRIMARY else "is the primary NIC")
        if sum(len(blocks) for blocks in devices.values()) == 1:
            result.write(path, known_good(renderer), why + " (file replaced by a known-good one)")
        else:
            pad = " " * block.indent
            new_block = ["%seth0:" % pad, "%s  dhcp4: true" % pad]
            ending = "\r\n" if "\r\n" in files[path] else "\n"
            out = lines[:block.start] + new_block + lines[block.end:]
            result.write(path, ending.join(out) + ending, why + " (its block replaced, other devices kept)")
    result.configured = True
    return result
