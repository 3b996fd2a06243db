"""GUESTOS.Selinux: SELinux disabled in /etc/selinux/config, as Alibaba's image check wants.

Only the config file and the ``enforcing=1`` kernel argument are touched (``selinux=0`` is not
added: the config is enough, and keeping the kernel's SELinux support lets a user re-enable it;
re-enabling needs ``touch /.autorelabel`` first, which the finding says). Guests without
/etc/selinux/config (Debian, Ubuntu, SUSE usually) have no SELinux: not applicable.
"""
import re

from ..errors import AgentError
from ..guest.kernel_cmdline import read_kernel_args
from .base import Detection, RepairItem

CONFIG = "/etc/selinux/config"
_SETTING = re.compile(r"^(\s*SELINUX\s*=\s*)(['\"]?)([A-Za-z]*)\2(\s*(?:#.*)?)$")


def selinux_mode(text):
    """The last SELINUX= value of the config (lower case), or None."""
    mode = None
    for line in text.splitlines():
        match = _SETTING.match(line)
        if match:
            mode = match.group(3).lower()
    return mode


def disable(text):
    """The config with every SELINUX= line set to disabled (comments, SELINUXTYPE, CRLF kept);
    a config without SELINUX= gets one."""
    out = []
    found = False
    for line in text.splitlines(True):
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        match = _SETTING.match(body)
        if match:
            found = True
            body = "%sdisabled%s" % (match.group(1), match.group(4))
        out.append(body + ending)
    if not found:
        if out and not out[-1].endswith("\n"):
            out.append("\n")
        out.append("SELINUX=disabled\n")
    return "".join(out)


def enforcing_args(guest):
    return [a for a in read_kernel_args(guest) if a.startswith("enforcing=") and a != "enforcing=0"]


class SelinuxItem(RepairItem):
    name = "selinux"

    def detect(self, guest):
        text = guest.fs.read_text(CONFIG)
        if text is None:
            return Detection.not_applicable("no %s: the guest has no SELinux" % CONFIG)
        findings = []
        mode = selinux_mode(text)
        if mode != "disabled":
            findings.append("%s: SELINUX=%s" % (CONFIG, mode if mode is not None else "(not set: enforcing)"))
        args = enforcing_args(guest)
        if args:
            findings.append("kernel command line has %s" % " ".join(args))
        if findings:
            return Detection.risky(findings, risk="Medium")
        return Detection.healthy("SELinux disabled (touch /.autorelabel before re-enabling it)")

    def fix(self, guest, detection):
        text = guest.fs.read_text(CONFIG)
        if text is None:
            raise AgentError("%s disappeared during the repair" % CONFIG)
        guest.fs.write_text(CONFIG, disable(text))
        if enforcing_args(guest):
            guest.boot.require_args(self.name, remove=["enforcing="], notes=detection.findings)


ITEM = SelinuxItem()
