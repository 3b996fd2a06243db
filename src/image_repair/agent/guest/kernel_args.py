"""Kernel command-line arguments as lists of words: splitting, matching and editing (pure).

One editing rule serves every place a command line lives (``/etc/default/grub``, grub.cfg linux
lines, BLS entries, ``/etc/kernel/cmdline``, grubenv ``kernelopts``, menu.lst kernel lines), so
all of them end up with the same arguments:

* a remove spec is ``"name=value"`` (that exact argument), ``"name="`` (any value of ``name``)
  or a bare flag (``"quiet"``);
* an added ``name=value`` replaces other values of ``name`` (``nvme_core.io_timeout=255`` becomes
  ``...=4294967295``), except for names the kernel accepts several times (``console=``...), where
  the added ones are kept in the order asked for (the last ``console=`` is ``/dev/console``);
* arguments already present, in the right order, are left where they are, so a second edit with
  the same request changes nothing.
"""

# Names the kernel (or dracut) accepts several times: an added value does not replace the others.
MULTI_VALUED = ("console", "rd.driver.pre", "rd.driver.blacklist", "modprobe.blacklist",
                "rd.lvm.lv", "rd.luks.uuid", "rd.md.uuid", "ip", "rd.driver.post")
# Of those, the ones whose relative order matters: the added ones must appear in the order asked.
ORDERED = ("console",)


def split_args(text):
    """Words of a command line, double or single quotes grouping (``foo="a b"`` is one word).

    Quotes that wrap a whole word (grub.cfg may write ``'root=UUID=x'``) are dropped; quotes inside
    a word (``acpi_osi="!Windows 2012"``) are kept, as the kernel sees them."""
    words = []
    current = []
    quote = None
    started = False
    for char in text or "":
        if quote:
            current.append(char)
            if char == quote:
                quote = None
            continue
        if char in "\"'":
            quote = char
            current.append(char)
            started = True
        elif char.isspace():
            if started:
                words.append(_unwrap("".join(current)))
            current = []
            started = False
        else:
            current.append(char)
            started = True
    if started:
        words.append(_unwrap("".join(current)))
    return words


def _unwrap(word):
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "\"'" and word.count(word[0]) == 2:
        return word[1:-1]
    return word


def arg_name(arg):
    """``console`` for ``console=ttyS0``, ``quiet`` for ``quiet``."""
    return arg.split("=", 1)[0]


def matches(arg, spec):
    """Whether ``arg`` is removed by ``spec`` (see the module docstring)."""
    if spec.endswith("="):
        return "=" in arg and arg_name(arg) == spec[:-1]
    return arg == spec


def is_reference(word):
    """A shell or grub variable reference (``$kernelopts``, ``${GRUB_CMDLINE_LINUX}``): not an argument."""
    return word.startswith("$")


class ArgEdit(object):
    """One request (args to add, specs to remove) planned against the arguments in effect.

    ``drops(word)`` says whether a word must go wherever it appears; ``appended`` lists what must
    be added at the end of the (last) command line. Build it with :func:`plan_edit`."""

    def __init__(self, drop_exact, drop_specs, appended, added=()):
        self._drop_exact = set(drop_exact)
        self._drop_specs = list(drop_specs)
        self._added = set(added)
        self.appended = list(appended)

    def drops(self, word):
        if is_reference(word):
            return False
        if word in self._drop_exact:
            return True
        # "name=" removes other values, never the value asked for (it stays where it is)
        return word not in self._added and any(matches(word, spec) for spec in self._drop_specs)

    def is_empty(self):
        return not (self._drop_exact or self._drop_specs or self.appended)


def plan_edit(effective, add=(), remove=()):
    """Plan the edit of a command line whose arguments in effect are ``effective``.

    Returns an :class:`ArgEdit`; :func:`edit_args` applies it to a flat list."""
    add = _unique(add)
    remove_specs = [spec for spec in _unique(remove) if spec not in add]
    kept = [w for w in effective if w in add or not any(matches(w, s) for s in remove_specs)]
    drop_exact = set()
    appended = []
    for arg in add:
        name = arg_name(arg)
        if name not in MULTI_VALUED and "=" in arg:
            # another value of a single-valued name is replaced by the one asked for
            for word in kept:
                if "=" in word and arg_name(word) == name and word != arg:
                    drop_exact.add(word)
        if arg not in kept:
            appended.append(arg)
    for name in ORDERED:
        wanted = [a for a in add if arg_name(a) == name]
        final = [w for w in kept if w not in drop_exact] + appended
        if len(wanted) > 1 and _order(final, wanted) != wanted:
            # out of order once added: move them all to the end, in the order asked for
            drop_exact.update(w for w in wanted if w in kept)
            appended = [a for a in appended if a not in wanted] + wanted
    # specs apply to every assignment, also ones overridden later (dead now, alive after an edit)
    return ArgEdit(drop_exact, remove_specs, appended, add)


def _order(present, wanted):
    """The wanted args in the order of their LAST appearance (the one that counts for console=)."""
    last = {}
    for index, word in enumerate(present):
        last[word] = index
    return sorted([w for w in wanted if w in last], key=lambda w: last[w])


def edit_args(words, add=(), remove=()):
    """``words`` with ``add`` ensured and ``remove`` dropped; unchanged when nothing is to do."""
    edit = plan_edit([w for w in words if not is_reference(w)], add, remove)
    return [w for w in words if not edit.drops(w)] + edit.appended


def _unique(values):
    seen = []
    for value in values or ():
        if value not in seen:
            seen.append(value)
    return seen
