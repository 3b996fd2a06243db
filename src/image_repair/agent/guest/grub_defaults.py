"""``/etc/default/grub`` (and ``/etc/default/grub.d/*.cfg``): read and rewrite (pure functions).

These files are shell, sourced in order by grub-mkconfig. What matters here:

* ``GRUB_CMDLINE_LINUX`` may be assigned several times, double-quoted, single-quoted or bare, and
  may reference itself (``GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX console=ttyS0"``) or other
  variables; references are kept as they are, quoting style too;
* removed arguments go from every assignment (of ``GRUB_CMDLINE_LINUX`` and
  ``GRUB_CMDLINE_LINUX_DEFAULT``); added ones go to the last assignment of ``GRUB_CMDLINE_LINUX``
  (the one in effect), which is created when there is none;
* ``GRUB_DISABLE_LINUX_UUID=true`` (root by device name) is commented out with a note;
* comments, blank lines, other settings, line endings (LF or CRLF) and a missing final newline
  are preserved.
"""
import re

from .kernel_args import is_reference, plan_edit, split_args

LINUX = "GRUB_CMDLINE_LINUX"
LINUX_DEFAULT = "GRUB_CMDLINE_LINUX_DEFAULT"
NOTE = "# image-repair: "

_ASSIGNMENT = re.compile(r"^(?P<lead>\s*(?:export\s+)?)(?P<name>[A-Za-z_][A-Za-z_0-9]*)=(?P<rest>.*)$", re.S)


class Assignment(object):
    """One ``NAME=value`` line: its decoded value and how to write it back."""

    def __init__(self, index, lead, name, value, quote, tail, ending):
        self.index = index      # line number in the file
        self.lead = lead        # indentation, ``export ``
        self.name = name
        self.value = value      # the shell word, unquoted (``$VAR`` references kept literally)
        self.quote = quote      # '"', "'" or "" (bare)
        self.tail = tail        # what follows the value on the line (`` # comment``, ``; x=1``)
        self.ending = ending    # "\n", "\r\n" or "" (last line without newline)

    def words(self):
        return split_args(self.value)

    def render(self, value=None):
        value = self.value if value is None else value
        return "%s%s=%s%s%s" % (self.lead, self.name, quote_value(value, self.quote), self.tail, self.ending)


def _split_ending(line):
    for ending in ("\r\n", "\n"):
        if line.endswith(ending):
            return line[:-len(ending)], ending
    return line, ""


def parse_word(text):
    """Decode the shell word at the start of ``text``: (value, quote style, rest of the line).

    Raises ValueError for an unterminated quote (a malformed file is never rewritten)."""
    value = []
    style = None
    i = 0
    while i < len(text):
        char = text[i]
        if char in " \t;&|":  # an unquoted blank or operator ends the word (a "#" inside does not)
            break
        if char == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise ValueError("unterminated single quote")
            value.append(text[i + 1:end])
            style = style or "'"
            i = end + 1
            continue
        if char == '"':
            i += 1
            while i < len(text) and text[i] != '"':
                if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in '"\\`$':
                    if text[i + 1] == "$":
                        value.append("\\")  # an escaped $ stays escaped when written back
                    value.append(text[i + 1])
                    i += 2
                    continue
                value.append(text[i])
                i += 1
            if i >= len(text):
                raise ValueError("unterminated double quote")
            style = style or '"'
            i += 1
            continue
        if char == "\\" and i + 1 < len(text):
            value.append(text[i + 1])
            i += 2
            continue
        value.append(char)
        i += 1
    return "".join(value), style or "", text[i:]


def quote_value(value, style):
    """Write ``value`` back in ``style`` when it can be; double quotes otherwise."""
    if style == "'" and "'" not in value:
        return "'%s'" % value
    if style == "" and value and re.match(r"^[A-Za-z0-9_.,:/=+@%-]+$", value):
        return value
    # $VAR and `cmd` keep their meaning: only quotes and lone backslashes are escaped
    escaped = re.sub(r'(["]|\\(?![$]))', r"\\\1", value)
    return '"%s"' % escaped


def parse(text):
    """(lines, assignments): the file's lines (endings kept) and its parsed assignments.

    A kernel command line that cannot be parsed (an unterminated quote, a value continued on the
    next line) raises ValueError: such a file is reported, never rewritten by guesswork; other
    lines that cannot be parsed are left alone."""
    lines = (text or "").splitlines(True)
    assignments = []
    for index, line in enumerate(lines):
        body, ending = _split_ending(line)
        match = _ASSIGNMENT.match(body)
        if not match:
            continue
        try:
            if body.rstrip().endswith("\\"):
                raise ValueError("value continued on the next line")
            value, quote, tail = parse_word(match.group("rest"))
        except ValueError as error:
            if match.group("name") in (LINUX, LINUX_DEFAULT):
                raise ValueError("line %d (%s): %s" % (index + 1, match.group("name"), error))
            continue
        assignments.append(Assignment(index, match.group("lead"), match.group("name"), value, quote, tail, ending))
    return lines, assignments


def _resolve(words, name, previous):
    """Replace self-references of ``name`` by the words it had before this assignment."""
    pattern = re.compile(r"^\$(\{%s\}|%s)$" % (name, name))
    out = []
    for word in words:
        if pattern.match(word):
            out.extend(previous)
        else:
            out.append(word)
    return out


def effective_words(texts, name):
    """Words of ``name`` after sourcing ``texts`` in order (other ``$VAR`` references kept)."""
    words = []
    for text in texts:
        for assignment in parse(text)[1]:
            if assignment.name == name:
                words = _resolve(assignment.words(), name, words)
    return words


def effective_args(texts):
    """Kernel arguments the files give every linux entry: GRUB_CMDLINE_LINUX + _DEFAULT."""
    words = effective_words(texts, LINUX) + effective_words(texts, LINUX_DEFAULT)
    return [w for w in words if not is_reference(w)]


def variable(texts, name):
    """The last value assigned to ``name`` in ``texts`` (sourced in order), or None."""
    value = None
    for text in texts:
        for assignment in parse(text)[1]:
            if assignment.name == name:
                value = assignment.value
    return value


def rewrite(texts, add=(), remove=(), settings=None):
    """Rewrite the files sourced in order (``/etc/default/grub`` first, then ``grub.d/*.cfg``).

    ``add``/``remove`` edit the kernel arguments (see :mod:`kernel_args`); ``settings`` maps other
    variables to the values they must have (e.g. ``GRUB_TERMINAL``), set on their last assignment
    or appended to the first file. Returns (new texts, notes)."""
    settings = settings or {}
    parsed = [parse(text) for text in texts]
    notes = []
    current = effective_args(texts)
    edit = plan_edit(current, add, remove)
    last_linux = None
    last_setting = {}
    for file_index, (_lines, assignments) in enumerate(parsed):
        for assignment in assignments:
            if assignment.name == LINUX:
                last_linux = (file_index, assignment)
            if assignment.name in settings:
                last_setting[assignment.name] = (file_index, assignment)

    new_texts = []
    for file_index, (lines, assignments) in enumerate(parsed):
        lines = list(lines)
        for assignment in assignments:
            if assignment.name in (LINUX, LINUX_DEFAULT):
                words = assignment.words()
                kept = [w for w in words if not edit.drops(w)]
                if last_linux and last_linux[1] is assignment and edit.appended:
                    kept += edit.appended
                if kept != words:
                    lines[assignment.index] = assignment.render(" ".join(kept))
            elif assignment.name == "GRUB_DISABLE_LINUX_UUID" and assignment.value.strip().lower() == "true":
                body, ending = _split_ending(lines[assignment.index])
                lines[assignment.index] = "%scommented out, the root must be given by UUID: %s%s" % (
                    NOTE, body.strip(), ending or "\n")
                notes.append("GRUB_DISABLE_LINUX_UUID=true removed: grub-mkconfig gives the root by UUID")
            elif assignment.name in settings and last_setting[assignment.name][1] is assignment:
                if assignment.value != settings[assignment.name]:
                    lines[assignment.index] = assignment.render(settings[assignment.name])
        new_texts.append("".join(lines))

    appends = []
    if edit.appended and last_linux is None:
        appends.append((LINUX, " ".join(edit.appended)))
    for name in sorted(settings):
        if name not in last_setting:
            appends.append((name, settings[name]))
    if appends:
        first = new_texts[0] if new_texts else ""
        ending = "\r\n" if "\r\n" in first else "\n"
        if first and not first.endswith("\n"):
            first += ending
        for name, value in appends:
            first += "%s=%s%s" % (name, quote_value(value, '"'), ending)
        if new_texts:
            new_texts[0] = first
        else:
            new_texts.append(first)
    return new_texts, notes
