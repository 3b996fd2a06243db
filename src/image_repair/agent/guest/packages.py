"""Installing packages in the guest with its own package manager, inside its chroot.

* ``install(guest, packages)``: apt-get, yum, dnf or zypper from the guest's repositories, or,
  with ``options.mirror_url``, from that mirror: the repository configuration is moved aside for
  the install and put back exactly (same files, same inodes) afterwards, on failure too. A run
  interrupted mid-install leaves the originals beside their place (``*.image-repair-orig``); the
  next run puts them back before anything else.
* ``install_package_file(guest, url)``: a .deb, .rpm or installer script downloaded on the repair
  host into the guest's /var/tmp, installed with dpkg -i / rpm -Uvh / sh, then removed.
In dry runs the commands are recorded and nothing is downloaded or written.
"""
import os
import re
import shutil
import urllib.parse
import urllib.request

from .. import log
from ..errors import AgentError, BadInput
from .model import DEBIAN, RHEL, SUSE

ASIDE_SUFFIX = ".image-repair-orig"
DOWNLOAD_DIR = "/var/tmp"
DOWNLOAD_TIMEOUT = 120
MIRROR_REPO_NAME = "image-repair-mirror"
APT_KEEP_CONFIG = ["-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"]


def install_commands(manager, packages):
    """The argv lists installing ``packages`` with ``manager``."""
    packages = list(packages)
    if manager == "apt":
        # Keep the guest's own edited configuration files when a package brings new ones (dpkg
        # would otherwise ask, and there is nobody to answer).
        return [["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends"] + APT_KEEP_CONFIG + packages]
    if manager in ("yum", "dnf"):
        return [[manager, "-y", "install"] + packages]
    if manager == "zypper":
        return [["zypper", "--non-interactive", "install"] + packages]
    raise AgentError("no supported package manager in the guest (apt, yum, dnf, zypper); found: %s"
                     % (manager or "none"))


def mirror_urls(value):
    """The mirror URLs of ``options.mirror_url`` (several may be given, separated by spaces or commas)."""
    urls = [u for u in re.split(r"[\s,]+", value or "") if u]
    for url in urls:
        if urllib.parse.urlparse(url).scheme not in ("http", "https", "ftp", "file"):
            raise BadInput("mirror URL must be http(s), ftp or file: %r" % url)
    return urls


def debian_codename(guest):
    """The release codename apt's sources need (from the guest's facts)."""
    codename = getattr(guest.facts, "codename", None)
    if not codename:
        raise AgentError("cannot tell the guest's release codename (no VERSION_CODENAME in "
                         "/etc/os-release, no DISTRIB_CODENAME in /etc/lsb-release): cannot point apt at the mirror")
    return codename


def mirror_config(guest, urls):
    """``(paths moved aside, {path: content written})`` pointing the guest's manager at ``urls``."""
    family = guest.facts.family
    manager = guest.facts.package_manager
    if manager == "apt" or family == DEBIAN:
        codename = debian_codename(guest)
        ubuntu = guest.facts.distro_id == "ubuntu"
        components = "main restricted universe" if ubuntu else "main"
        lines = ["# Temporary: written by image-repair for one install, removed afterwards."]
        for url in urls:
            for suite in (codename, codename + "-updates"):
                lines.append("deb %s %s %s" % (url, suite, components))
        return (["/etc/apt/sources.list", "/etc/apt/sources.list.d"],
                {"/etc/apt/sources.list": "\n".join(lines) + "\n"})
    if manager in ("yum", "dnf") or family == RHEL:
        keys = ["file:///etc/pki/rpm-gpg/" + name for name in guest.fs.listdir("/etc/pki/rpm-gpg")]
        sections = []
        for number, url in enumerate(urls, 1):
            sections.append("[%s-%d]\nname=image-repair mirror %d\nbaseurl=%s\nenabled=1\n%s\n" % (
                MIRROR_REPO_NAME, number, number, url,
                # The guest's own vendor keys check the mirror's packages; without any, no check.
                ("gpgcheck=1\ngpgkey=%s" % " ".join(keys)) if keys else "gpgcheck=0"))
        return (["/etc/yum.repos.d"], {"/etc/yum.repos.d/%s.repo" % MIRROR_REPO_NAME: "\n".join(sections)})
    if manager == "zypper" or family == SUSE:
        sections = []
        for number, url in enumerate(urls, 1):
            sections.append("[%s-%d]\nname=image-repair mirror %d\nenabled=1\nautorefresh=1\nbaseurl=%s\n"
                            "type=rpm-md\ngpgcheck=1\n" % (MIRROR_REPO_NAME, number, number, url))
        return (["/etc/zypp/repos.d"], {"/etc/zypp/repos.d/%s.repo" % MIRROR_REPO_NAME: "\n".join(sections)})
    raise AgentError("cannot point an unknown package manager (%s) at a mirror" % (manager or "none"))


def restore_aside(guest, paths):
    """Put back originals left aside by an interrupted run (before touching anything)."""
    for path in paths:
        host = guest.fs.host_path(path, follow_last=False)
        if os.path.lexists(host + ASIDE_SUFFIX):
            _remove_host(host)
            os.rename(host + ASIDE_SUFFIX, host)
            log.warn("put back %s left aside by an interrupted run", path)


def _remove_host(host):
    if os.path.isdir(host) and not os.path.islink(host):
        shutil.rmtree(host)
    elif os.path.lexists(host):
        os.unlink(host)


class RepositorySwitch(object):
    """Context manager: the guest's repositories replaced by the mirror's for the duration."""

    def __init__(self, guest, urls):
        self.guest = guest
        self.urls = urls
        self.moved = []
        self.created = []

    def __enter__(self):
        aside, files = mirror_config(self.guest, self.urls)
        if self.guest.dry_run or self.guest.read_only:
            for path, content in sorted(files.items()):
                self.guest.fs.record.diffs.append("temporary (restored afterwards) %s:\n%s" % (path, content))
            return self
        restore_aside(self.guest, aside)
        try:
            for path in aside:
                host = self.guest.fs.host_path(path, follow_last=False)
                if os.path.lexists(host):
                    os.rename(host, host + ASIDE_SUFFIX)
                    self.moved.append(host)
            for path, content in sorted(files.items()):
                host = self.guest.fs.host_path(path)
                parent = os.path.dirname(host)
                if not os.path.isdir(parent):
                    os.makedirs(parent, 0o755)
                    self.created.append(parent)
                with open(host, "w") as handle:
                    handle.write(content)
                self.created.append(host)
        except BaseException:
            self.restore()
            raise
        log.info("package sources: %s (the guest's own restored afterwards)", " ".join(self.urls))
        return self

    def restore(self):
        for host in reversed(self.created):
            _remove_host(host)
        for host in reversed(self.moved):
            _remove_host(host)
            os.rename(host + ASIDE_SUFFIX, host)
        self.created, self.moved = [], []

    def __exit__(self, *exc):
        self.restore()
        return False


class NoServiceStarts(object):
    """Context manager: Debian's /usr/sbin/policy-rc.d answering 101 ("action forbidden") while
    packages install, so no maintainer script starts a daemon inside the chroot (a daemon left
    running there would keep the guest's filesystems busy). A policy the guest has is kept."""

    PATH = "/usr/sbin/policy-rc.d"
    TEXT = "#!/bin/sh\n# image-repair: no service starts while packages install offline.\nexit 101\n"

    def __init__(self, guest):
        self.guest = guest
        self.host = None

    def __enter__(self):
        if self.guest.dry_run or self.guest.read_only or self.guest.facts.family != DEBIAN:
            return self
        host = self.guest.fs.host_path(self.PATH, follow_last=False)
        if os.path.lexists(host) or not os.path.isdir(os.path.dirname(host)):
            return self
        with open(host, "w") as handle:
            handle.write(self.TEXT)
        os.chmod(host, 0o755)
        self.host = host
        return self

    def __exit__(self, *exc):
        if self.host and os.path.lexists(self.host):
            os.unlink(self.host)
        self.host = None
        return False


def install(guest, packages, label=None):
    """Install ``packages`` with the guest's own manager (from the mirror when one is given)."""
    commands = install_commands(guest.facts.package_manager, packages)
    urls = mirror_urls(guest.options.mirror_url)
    label = label or "installing %s" % " ".join(packages)

    def run_all():
        with NoServiceStarts(guest):
            for argv in commands:
                guest.run(argv, label=label)

    if urls:
        with RepositorySwitch(guest, urls):
            run_all()
    else:
        run_all()


def package_kind(url, family):
    """``deb``, ``rpm`` or ``sh`` for the file at ``url`` (its extension, else the family's)."""
    path = urllib.parse.urlparse(url).path.lower()
    for kind in ("deb", "rpm", "sh"):
        if path.endswith("." + kind):
            break
    else:
        kind = "deb" if family == DEBIAN else "rpm"
    if kind == "deb" and family in (RHEL, SUSE) or kind == "rpm" and family == DEBIAN:
        raise AgentError("%s is a .%s package, which does not fit this %s guest" % (url, kind, family))
    return kind


def _download(url, host_target):
    scheme = urllib.parse.urlparse(url).scheme
    if scheme not in ("http", "https", "file"):
        raise BadInput("package URL must be http(s) or file: %r" % url)
    try:
        response = urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT)
        try:
            with open(host_target, "wb") as handle:
                shutil.copyfileobj(response, handle, 1 << 20)
        finally:
            response.close()
    except (IOError, OSError, ValueError) as error:
        if os.path.exists(host_target):
            os.unlink(host_target)
        raise AgentError("cannot download %s: %s" % (url, error))


def install_package_file(guest, url, label=None, installer_args=()):
    """Download ``url`` into the guest's /var/tmp and install it; the file is removed afterwards."""
    kind = package_kind(url, guest.facts.family)
    name = re.sub(r"[^A-Za-z0-9._+-]", "_", os.path.basename(urllib.parse.urlparse(url).path)) or "package"
    guest_path = "%s/image-repair-%s" % (DOWNLOAD_DIR, name)
    if kind == "deb":
        argv = ["dpkg", "-i", guest_path]
    elif kind == "rpm":
        argv = ["rpm", "-Uvh", guest_path]
    else:
        argv = ["sh", guest_path] + list(installer_args)
    label = label or "installing %s" % name
    guest.fs.record.add_command("download %s to %s" % (url, guest_path))
    if guest.dry_run or guest.read_only:
        guest.run(argv, label=label)
        return
    host = guest.fs.host_path(guest_path)
    if not os.path.isdir(os.path.dirname(host)):
        os.makedirs(os.path.dirname(host), 0o1777)
    log.info("%s: downloading %s", label, url)
    _download(url, host)
    try:
        with NoServiceStarts(guest):
            guest.run(argv, label=label)
    finally:
        if os.path.lexists(host):
            os.unlink(host)
