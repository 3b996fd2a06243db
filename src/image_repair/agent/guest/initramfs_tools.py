"""Configuration files of the initramfs tools that make added drivers last beyond this run.

Pure text rewrites (``*_text`` functions, unit-tested) and thin wrappers writing through GuestFS.
"""
import re

MODULES_FILE = "/etc/initramfs-tools/modules"
CONF_FILE = "/etc/initramfs-tools/initramfs.conf"
CONF_DIR = "/etc/initramfs-tools/conf.d"

_MODULES_DEP = re.compile(r"^(\s*MODULES\s*=\s*)([\"']?)dep\2(\s*(#.*)?)$")


def modules_text(existing, modules):
    """``existing`` /etc/initramfs-tools/modules with each of ``modules`` listed once."""
    listed = set()
    for line in existing.splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            listed.add(words[0].replace("-", "_"))
    new = [m for m in modules if m.replace("-", "_") not in listed]
    if not new:
        return existing
    text = existing
    if text and not text.endswith("\n"):
        text += "\n"
    text += "# Added by image-repair: drivers Alibaba Cloud ECS needs at boot.\n"
    return text + "".join(m + "\n" for m in new)


def dep_to_most_text(text):
    """``MODULES=dep`` (the drivers of the machine building the image: the repair host's) becomes
    ``MODULES=most``; other lines are kept byte for byte."""
    lines = text.splitlines(True)
    out = []
    for line in lines:
        ending = "\n" if line.endswith("\n") else ""
        match = _MODULES_DEP.match(line.rstrip("\n"))
        if match:
            line = "%s%smost%s%s%s" % (match.group(1), match.group(2), match.group(2),
                                       match.group(3) or "", ending)
        out.append(line)
    return "".join(out)


def shell_list_text(text, variable, values):
    """``variable="a b"`` in a shell-style sysconfig file with ``values`` added once each."""
    pattern = re.compile(r'^(\s*%s\s*=\s*)(["\']?)(.*?)\2\s*$' % re.escape(variable))
    lines = text.splitlines(True)
    for index, line in enumerate(lines):
        match = pattern.match(line.rstrip("\n"))
        if match:
            current = match.group(3).split()
            merged = current + [v for v in values if v not in current]
            if merged == current:
                return text
            lines[index] = '%s"%s"\n' % (match.group(1), " ".join(merged))
            return "".join(lines)
    if text and not text.endswith("\n"):
        text += "\n"
    return text + '%s="%s"\n' % (variable, " ".join(values))


def add_modules(fs, modules):
    fs.write_text(MODULES_FILE, modules_text(fs.read_text(MODULES_FILE, default=""), modules))


def switch_dep_to_most(fs):
    """Switch MODULES=dep to most in initramfs.conf and conf.d (each file backed up by GuestFS)."""
    paths = [CONF_FILE] + [CONF_DIR + "/" + name for name in fs.listdir(CONF_DIR)]
    for path in paths:
        if fs.isfile(path):
            text = fs.read_text(path)
            fs.write_text(path, dep_to_most_text(text))


def add_to_shell_list(fs, path, variable, values):
    fs.write_text(path, shell_list_text(fs.read_text(path, default=""), variable, values))
