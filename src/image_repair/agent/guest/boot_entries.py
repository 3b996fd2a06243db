"""Kernel command lines in generated boot configurations (pure functions, text in, text out).

* grub.cfg (GRUB 2, generated): ``linux``/``linux16``/``linuxefi`` lines; read, and the root
  corrected after a regeneration that named a device of the repair host (``root=/dev/loop3``);
* BLS entries (``/boot/loader/entries/*.conf``): the ``options`` line;
* grubenv: ``kernelopts=`` (RHEL 8 entries say ``options $kernelopts``);
* ``/etc/kernel/cmdline``: one line, used by kernel-install for future BLS entries;
* GRUB legacy ``menu.lst``/``grub.conf``: ``kernel`` lines, edited directly (no tool regenerates them).
Lines are edited in place: indentation, other lines, CRLF and a missing final newline are kept.
"""
import re

from .kernel_args import edit_args, is_reference, split_args

_GRUB2_LINUX = re.compile(r"^(?P<lead>\s*(?:linux|linux16|linuxefi)\s+)(?P<image>\S+)(?P<args>[^\r\n]*)(?P<end>\r?\n?)$")
_LEGACY_KERNEL = re.compile(r"^(?P<lead>\s*kernel\s+(?:--\S+\s+)*)(?P<image>\S+)(?P<args>[^\r\n]*)(?P<end>\r?\n?)$")
_BLS_OPTIONS = re.compile(r"^(?P<lead>\s*options)(?P<args>(?:\s[^\r\n]*)?)(?P<end>\r?\n?)$")


def _lines(text):
    return (text or "").splitlines(True)


def _args_of(pattern, text):
    found = []
    for line in _lines(text):
        match = pattern.match(line)
        if match:
            found.append(split_args(match.group("args")))
    return found


def grub_cfg_linux_args(text):
    """The argument lists of every linux line of a generated grub.cfg."""
    return _args_of(_GRUB2_LINUX, text)


def is_wrapper_cfg(text):
    """An EFI grub.cfg that only loads the real one (Fedora 34+/RHEL 9, Debian and Ubuntu's ESP
    stub with ``configfile``, SUSE's with ``source``)."""
    text = text or ""
    loads = re.search(r"^\s*(configfile|source)\s", text, re.M) is not None
    return loads and not grub_cfg_linux_args(text) and "blscfg" not in text and "menuentry" not in text


def legacy_kernel_args(text):
    """The argument lists of every kernel line of a GRUB legacy menu.lst/grub.conf."""
    return _args_of(_LEGACY_KERNEL, text)


def bls_options(text):
    """The words of a BLS entry's options line ([] when it has none)."""
    found = _args_of(_BLS_OPTIONS, text)
    return found[-1] if found else []


def grubenv_kernelopts(text):
    """The words of grubenv's ``kernelopts=`` ([] when absent)."""
    for line in _lines(text):
        if line.startswith("kernelopts="):
            return split_args(line.rstrip("\r\n")[len("kernelopts="):])
    return []


def resolve_kernelopts(words, kernelopts):
    """BLS options with ``$kernelopts`` replaced by grubenv's value; other references dropped."""
    out = []
    for word in words:
        if word in ("$kernelopts", "${kernelopts}"):
            out.extend(kernelopts)
        elif not is_reference(word):
            out.append(word)
    return out


def _edit_lines(pattern, text, add, remove, keep_image=True):
    out = []
    for line in _lines(text):
        match = pattern.match(line)
        if not match:
            out.append(line)
            continue
        words = split_args(match.group("args"))
        new = edit_args(words, add, remove)
        if new == words:
            out.append(line)
            continue
        image = (match.group("image") + " ") if keep_image else " "
        out.append("%s%s%s%s" % (match.group("lead"), image, " ".join(new), match.group("end")))
    return "".join(out)


def edit_grub_cfg(text, add=(), remove=()):
    """A generated grub.cfg with every linux line's arguments edited (when it cannot be regenerated)."""
    return _edit_lines(_GRUB2_LINUX, text, add, remove)


def edit_legacy_menu(text, add=(), remove=()):
    """menu.lst/grub.conf with every kernel line's arguments edited."""
    return _edit_lines(_LEGACY_KERNEL, text, add, remove)


def edit_bls_entry(text, add=(), remove=()):
    """A BLS entry with its options edited (``$kernelopts`` and other references kept).

    An entry without an options line gets one (the added arguments)."""
    if not _args_of(_BLS_OPTIONS, text):
        if not add:
            return text
        ending = "\r\n" if "\r\n" in text else "\n"
        prefix = text if (not text or text.endswith("\n")) else text + ending
        return "%soptions %s%s" % (prefix, " ".join(add), ending)
    return _edit_lines(_BLS_OPTIONS, text, add, remove, keep_image=False)


def edit_grubenv_kernelopts(text, add=(), remove=()):
    """grubenv with kernelopts edited, when it has kernelopts. grubenv is a 1024-byte block padded
    with ``#``: the padding is shortened or lengthened to keep that size (grub reads it raw)."""
    lines = _lines(text)
    out = []
    changed = False
    for line in lines:
        if line.startswith("kernelopts="):
            words = split_args(line.rstrip("\n")[len("kernelopts="):])
            new = edit_args(words, add, remove)
            if new != words:
                line = "kernelopts=%s\n" % " ".join(new)
                changed = True
        out.append(line)
    if not changed:
        return text
    body = "".join(l for l in out if not l.startswith("#"))
    header = "# GRUB Environment Block\n"
    if not body.startswith(header):
        body = header + body.replace(header, "")
    if len(text) == 1024 and len(body) <= 1024:
        return body + "#" * (1024 - len(body))
    return body


def edit_cmdline_file(text, add=(), remove=()):
    """/etc/kernel/cmdline: one line of arguments."""
    words = split_args(text)
    new = edit_args(words, add, remove)
    if new == words:
        return text
    return " ".join(new) + "\n"


def root_device_problems(text, expected_root):
    """Linux lines of a generated grub.cfg whose ``root=`` is not ``expected_root``.

    Returns the distinct wrong values (``["/dev/loop4"]``; ``"(none)"`` for a line without root=)."""
    wrong = []
    for words in grub_cfg_linux_args(text):
        roots = [w[len("root="):] for w in words if w.startswith("root=")] or ["(none)"]
        for value in roots:
            if value != expected_root and value not in wrong:
                wrong.append(value)
    return wrong


def fix_root(text, expected_root):
    """grub.cfg with every linux line's ``root=`` set to ``expected_root``."""
    return _edit_lines(_GRUB2_LINUX, text, ["root=" + expected_root], [])
