"""Shell-style KEY=value files of /etc/sysconfig (RHEL ifcfg, SUSE wicked): parse and edit lines.

Values may be bare, 'single' or "double" quoted; comments and unknown keys are kept. Edits keep
the line's quoting style (SUSE writes 'dhcp', RHEL writes dhcp or "dhcp")."""
import re

from . import lines_with_endings

_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z_0-9]*)=(.*)$")


def _unquote(raw):
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        end = raw.find(raw[0], 1)
        if end > 0:
            return raw[1:end], raw[0]   # what follows the closing quote is a comment
    return raw.split("#", 1)[0].strip(), ""


def parse(text):
    """{KEY: value} of the file (the last assignment wins, as when sourced)."""
    values = {}
    for line in (text or "").splitlines():
        match = _LINE.match(line)
        if match:
            values[match.group(1)] = _unquote(match.group(2))[0]
    return values


def edit(text, set_values, drop_keys, drop_pattern=None):
    """The file with ``set_values`` set (in place, or appended) and keys in ``drop_keys`` (or
    matching the regex ``drop_pattern``) removed."""
    lines, ending, _final = lines_with_endings(text)
    out = []
    done = set()
    style = None
    for line in lines:
        match = _LINE.match(line)
        if not match:
            out.append(line)
            continue
        key = match.group(1)
        value, quote = _unquote(match.group(2))
        if style is None and quote:
            style = quote
        if key in drop_keys or (drop_pattern and re.match(drop_pattern, key)):
            continue
        if key in set_values:
            if key in done:
                continue  # a duplicate assignment: the one set is enough
            done.add(key)
            if value != set_values[key]:
                line = "%s=%s" % (key, _quote(set_values[key], quote))
        out.append(line)
    for key in set_values:
        if key not in done:
            out.append("%s=%s" % (key, _quote(set_values[key], style or "")))
    return ending.join(out) + ending if out else ""


def _quote(value, style):
    if style:
        return "%s%s%s" % (style, value, style)
    return value if re.match(r"^[A-Za-z0-9_.:/@+-]*$", value) else "'%s'" % value
