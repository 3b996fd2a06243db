"""GUESTOS.CloudInit: cloud-init installed, reading Alibaba Cloud's metadata service, and enabled.

Enabled means: no /etc/cloud/cloud-init.disabled, no ``cloud-init=disabled`` kernel argument, and
on systemd guests its units enabled, as ``systemctl enable`` makes them (run in the chroot first;
systemctl works offline there; the links are made directly only when it cannot).
"""
import os

from .. import log
from ..errors import AgentError
from ..guest import cloudcfg, packages
from ..guest.kernel_cmdline import read_kernel_args
from .base import Detection, RepairItem

ALIYUN_CFG = "/etc/cloud/cloud.cfg.d/90_image_repair_aliyun.cfg"
ALIYUN_CFG_TEXT = (
    "# Written by image-repair: Alibaba Cloud ECS metadata service (first, then no datasource).\n"
    "datasource_list: [ AliYun, None ]\n"
    "datasource:\n"
    "  AliYun:\n"
    "    metadata_urls: [\"http://100.100.100.200\"]\n"
)
DISABLED_FLAG = "/etc/cloud/cloud-init.disabled"
DISABLED_ARG = "cloud-init=disabled"
SYSTEMD_BINARIES = ("/lib/systemd/systemd", "/usr/lib/systemd/systemd")
UNIT_DIRS = ("/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")
# Units of every cloud-init generation (cloud-init.service became cloud-init-network.service in 24.3).
UNITS = ("cloud-init-local.service", "cloud-init-main.service", "cloud-init.service",
         "cloud-init-network.service", "cloud-config.service", "cloud-final.service", "cloud-init.target")


def is_systemd(fs):
    return any(fs.exists(path) for path in SYSTEMD_BINARIES)


def unit_file(fs, unit):
    for folder in UNIT_DIRS:
        path = folder + "/" + unit
        if fs.isfile(path):
            return path
    return None


def install_targets(text):
    """WantedBy= and RequiredBy= targets of a unit's [Install] section."""
    targets, section = [], None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Install]" and "=" in line:
            key, value = line.split("=", 1)
            if key.strip() in ("WantedBy", "RequiredBy"):
                suffix = ".wants" if key.strip() == "WantedBy" else ".requires"
                targets.extend(t + suffix for t in value.split())
    return targets


def disabled_units(fs):
    """[(unit, guest path of the unit file, [missing link paths])] for units not enabled."""
    result = []
    for unit in UNITS:
        path = unit_file(fs, unit)
        if path is None or path.startswith("/etc/"):
            continue
        links = ["/etc/systemd/system/%s/%s" % (target, unit) for target in install_targets(fs.read_text(path, ""))]
        if links and not any(fs.lexists(link) for link in links):
            result.append((unit, path, links))
    return result


def datasource_problem(fs):
    """Why the AliYun datasource is not the effective one (None when it is)."""
    path, raw = cloudcfg.effective(fs, "datasource_list")
    if raw is None:
        return "no datasource_list in the cloud-init configuration"
    sources = cloudcfg.parse_list(raw)
    if "AliYun" not in sources:
        return "%s sets datasource_list to [%s], without AliYun" % (path, ", ".join(sources))
    return None


class CloudInitItem(RepairItem):
    name = "cloudinit"
    installs_packages = True

    def detect(self, guest):
        fs = guest.fs
        problems = []
        if not cloudcfg.installed(fs):
            problems.append("cloud-init is not installed")
        else:
            problem = datasource_problem(fs)
            if problem:
                problems.append(problem)
            if is_systemd(fs):
                problems.extend("systemd unit %s is not enabled" % unit for unit, _p, _l in disabled_units(fs))
        if fs.lexists(DISABLED_FLAG):
            problems.append("%s exists (cloud-init disabled)" % DISABLED_FLAG)
        if DISABLED_ARG in read_kernel_args(guest):
            problems.append("kernel argument %s" % DISABLED_ARG)
        if problems:
            return Detection.risky(problems, risk="High")
        return Detection.healthy("cloud-init installed, AliYun datasource, enabled")

    def fix(self, guest, detection):
        fs = guest.fs
        if not cloudcfg.installed(fs):
            packages.install(guest, ["cloud-init"], label="installing cloud-init")
        fs.write_text(ALIYUN_CFG, ALIYUN_CFG_TEXT)
        if not guest.dry_run:
            problem = datasource_problem(fs)
            if problem:
                raise AgentError("%s overrides %s: remove or edit it" % (problem, ALIYUN_CFG))
        fs.remove(DISABLED_FLAG)
        if DISABLED_ARG in read_kernel_args(guest):
            guest.boot.require_args(self.name, remove=[DISABLED_ARG], notes=detection.findings)
        if is_systemd(fs):
            self._enable_units(guest)

    def _enable_units(self, guest):
        fs = guest.fs
        pending = disabled_units(fs)
        if not pending:
            return
        status, output = guest.run(["systemctl", "enable"] + [u for u, _p, _l in pending],
                                   label="enabling cloud-init units", check=False)
        if guest.dry_run:
            return  # the command is recorded; what it would link is not known without running it
        if status != 0:
            log.warn("systemctl enable in the chroot failed (exit %s): linking the units directly", status)
        for unit, path, links in disabled_units(fs):
            # As systemctl does: an absolute link in the first target's .wants folder.
            link = links[0]
            host = fs.host_path(link, follow_last=False)
            if not os.path.isdir(os.path.dirname(host)):
                os.makedirs(os.path.dirname(host), 0o755)
            os.symlink(path, host)
            fs.record.add_file(link)


ITEM = CloudInitItem()
