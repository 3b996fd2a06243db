"""Reading cloud-init's configuration the way cloud-init merges it, without a YAML library.

cloud-init reads /etc/cloud/cloud.cfg, then /etc/cloud/cloud.cfg.d/*.cfg in lexical order; for a
top-level key the last file that sets it wins. Only the shapes cloud.cfg files use are read here:
``key: value``, ``key: [a, b]``, and a block of ``- item`` lines or an indented mapping under ``key:``.
"""
import re

CLOUD_CFG = "/etc/cloud/cloud.cfg"
CLOUD_CFG_D = "/etc/cloud/cloud.cfg.d"
BINARIES = ("/usr/bin/cloud-init", "/usr/local/bin/cloud-init")

_TOP_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:(.*)$")


def installed(fs):
    return any(fs.isfile(path) for path in BINARIES)


def config_files(fs):
    files = [CLOUD_CFG] if fs.isfile(CLOUD_CFG) else []
    return files + [CLOUD_CFG_D + "/" + n for n in fs.listdir(CLOUD_CFG_D) if n.endswith(".cfg")]


def top_level(text, key):
    """Raw value of top-level ``key`` in ``text``: the inline part, or the indented block under it.

    None when the key is not set."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = _TOP_KEY.match(line)
        if not match or match.group(1) != key:
            continue
        inline = _strip_comment(match.group(2)).strip()
        if inline:
            return inline
        block = []
        for following in lines[index + 1:]:
            if following.strip() and not following[0].isspace() and not following.startswith("-"):
                break
            block.append(following)
        return "\n".join(block)
    return None


def _strip_comment(text):
    return re.sub(r"\s#.*$", "", text) if not text.lstrip().startswith("#") else ""


def effective(fs, key):
    """``(path, raw value)`` of the file whose ``key`` wins, or ``(None, None)``."""
    found = (None, None)
    for path in config_files(fs):
        value = top_level(fs.read_text(path, ""), key)
        if value is not None:
            found = (path, value)
    return found


def parse_list(raw):
    """``[ a, 'b' ]`` or a block of ``- a`` lines -> ["a", "b"]; ``- [growpart, always]`` -> "growpart"."""
    raw = (raw or "").strip()
    if raw.startswith("["):
        return [_scalar(v) for v in raw.strip("[]").split(",") if v.strip()]
    items = []
    for line in raw.splitlines():
        line = _strip_comment(line).strip()
        if line.startswith("-"):
            value = line[1:].strip()
            if value.startswith("["):
                value = value.strip("[]").split(",")[0]
            items.append(_scalar(value))
    return items


def mapping_value(raw, key):
    """``key``'s value inside a mapping written inline (``{mode: off}``) or as an indented block."""
    raw = raw or ""
    match = re.search(r"(?:^|[{,\s])%s\s*:\s*([^,}\n]*)" % re.escape(key), raw)
    return _scalar(match.group(1)) if match else None


def _scalar(value):
    return _strip_comment(value).strip().strip("\"'")


def is_false(value):
    return (value or "").strip().lower() in ("false", "off", "no", "0", "disabled")
