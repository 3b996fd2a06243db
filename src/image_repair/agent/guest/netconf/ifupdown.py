"""Debian ifupdown: /etc/network/interfaces and the files it sources (interfaces.d/*).

Stanzas: ``auto``/``allow-hotplug``/``allow-auto`` lines, ``iface <name> <family> <method>``
followed by indented options, ``source``, ``mapping``. The eth0 (or primary predictable name)
``inet`` stanza becomes ``iface eth0 inet dhcp`` (its options, addresses and gateways, dropped);
its auto/allow-hotplug line is renamed; ``lo`` and other interfaces are kept. Without any, the
main file gets ``auto eth0`` + ``iface eth0 inet dhcp``."""
import re

from . import PRIMARY, NetPlan, lines_with_endings, pick_primary

MAIN = "/etc/network/interfaces"
_IFACE = re.compile(r"^(\s*)iface\s+(\S+)\s+(inet6?|ipx|can)\s+(\S+)(.*)$")
_START = re.compile(r"^(\s*)(auto|allow-hotplug|allow-auto)\s+(.*)$")
_STANZA_KEYWORDS = ("iface", "auto", "allow-", "source", "mapping", "rename", "no-auto-down", "no-scripts")


def _is_stanza_start(line):
    word = line.strip().split(None, 1)[0] if line.strip() else ""
    return any(word == k or (k.endswith("-") and word.startswith(k)) for k in _STANZA_KEYWORDS)


def parse_ifaces(text):
    """[(line index, name, family, method)] of the iface stanzas."""
    found = []
    for index, line in enumerate((text or "").splitlines()):
        match = _IFACE.match(line)
        if match:
            found.append((index, match.group(2), match.group(3), match.group(4)))
    return found


def started_names(text):
    names = set()
    for line in (text or "").splitlines():
        match = _START.match(line)
        if match:
            names.update(match.group(3).split())
    return names


def plan(files):
    """``files``: {path: text} of /etc/network/interfaces and interfaces.d/* (main file first)."""
    result = NetPlan()
    stanzas = []   # (path, index, name, family, method)
    started = set()
    for path in sorted(files, key=lambda p: (p != MAIN, p)):
        stanzas.extend((path,) + s for s in parse_ifaces(files[path]))
        started |= started_names(files[path])
    inet = [s for s in stanzas if s[3] == "inet"]
    primary = pick_primary([s[2] for s in inet])
    if primary is None:
        text = files.get(MAIN, "")
        lines, ending, final = lines_with_endings(text)
        addition = ["", "# image-repair: the primary NIC by DHCP", "auto eth0", "iface eth0 inet dhcp"]
        new = ending.join(lines + addition if lines else addition[1:]) + ending
        result.write(MAIN, new, "ifupdown: no stanza for eth0: auto eth0 / iface eth0 inet dhcp added to %s" % MAIN)
        result.created = True
        result.configured = True
        return result
    mine = [s for s in inet if s[2] == primary]
    path, index, _name, _family, method = mine[0]
    if primary == PRIMARY and method == "dhcp" and PRIMARY in started and len(mine) == 1:
        result.configured = True
        return result
    texts = dict(files)
    # later stanzas of the same interface (ifupdown merges them: a static one would add its
    # address to eth0) are commented out, from the bottom up so line numbers stay valid
    for other_path, other_index, _n, _f, other_method in reversed(mine[1:]):
        texts[other_path] = comment_stanza(texts[other_path], other_index)
        result.findings.append("ifupdown: %s: another iface %s inet %s stanza commented out"
                               % (other_path, primary, other_method))
    if not (primary == PRIMARY and method == "dhcp" and PRIMARY in started):
        texts[path] = rewrite_stanza(texts[path], index, primary,
                                     add_auto=PRIMARY not in started and primary not in started)
        result.findings.append("ifupdown: %s: iface %s inet %s%s -> iface eth0 inet dhcp" % (
            path, primary, method, "" if primary in started else " (never brought up)"))
    if primary != PRIMARY:
        for other in texts:
            if other != path and primary in started_names(texts[other]):
                texts[other] = rename_starts(texts[other], primary)
                result.findings.append("ifupdown: %s: %s renamed eth0" % (other, primary))
    for changed in sorted(texts):
        if texts[changed] != files[changed]:
            result.writes[changed] = texts[changed]
    result.configured = True
    return result


def _stanza_end(lines, index):
    end = index + 1
    while end < len(lines) and not _is_stanza_start(lines[end]):
        end += 1
    # the blank lines and comments that close a stanza belong to the next one
    while end > index + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return end


def comment_stanza(text, index):
    """``text`` with the stanza at line ``index`` commented out with a note (never deleted)."""
    lines, ending, final = lines_with_endings(text)
    end = _stanza_end(lines, index)
    for number in range(index, end):
        lines[number] = "# image-repair: duplicate of eth0's stanza, commented: " + lines[number]
    return ending.join(lines) + (ending if final else "")


def rename_starts(text, old):
    lines, ending, final = lines_with_endings(text)
    out = []
    for line in lines:
        match = _START.match(line)
        if match:
            names = [PRIMARY if n == old else n for n in match.group(3).split()]
            line = "%s%s %s" % (match.group(1), match.group(2), " ".join(names))
        out.append(line)
    return ending.join(out) + (ending if final else "")


def rewrite_stanza(text, index, old_name, add_auto):
    """``text`` with the stanza at line ``index`` replaced by ``iface eth0 inet dhcp``."""
    text = rename_starts(text, old_name) if old_name != PRIMARY else text
    lines, ending, final = lines_with_endings(text)
    indent = _IFACE.match(lines[index]).group(1)
    end = _stanza_end(lines, index)
    replacement = ["%siface eth0 inet dhcp" % indent]
    if add_auto:
        replacement.insert(0, "%sauto eth0" % indent)
    out = lines[:index] + replacement + lines[end:]
    return ending.join(out) + (ending if final or end >= len(lines) else "")
