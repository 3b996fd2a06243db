"""Running external commands, on the host or inside the guest's chroot, with progress.

Every command goes through :func:`run` so that failures carry their output, long commands print a
heartbeat, and tests can see exactly what ran.
"""
import os
import subprocess
import threading
import time

from . import log
from .errors import CommandFailed
from .guestfs import GuestFS

# A command running longer than this prints a heartbeat line every HEARTBEAT seconds.
HEARTBEAT = 15.0

# The chroot gets a predictable PATH: the guest's own, never the host's virtualenv.
CHROOT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C",
    "LC_ALL": "C",
    "HOME": "/root",
    "DEBIAN_FRONTEND": "noninteractive",
    "DEBCONF_NONINTERACTIVE_SEEN": "true",
    "SYSTEMD_OFFLINE": "1",
}


def run(argv, check=True, input_text=None, env=None, label=None, timeout=None, cwd=None):
    """Run ``argv`` and return ``(status, output)`` with stdout and stderr merged.

    ``label`` names a long step: it is logged when the command starts and, while it runs,
    every HEARTBEAT seconds with the time spent so far.
    """
    argv = [str(a) for a in argv]
    if label:
        log.info("%s: %s", label, " ".join(argv))
    started = time.time()
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=cwd,
        universal_newlines=True,
    )
    done = threading.Event()
    if label:
        def heartbeat():
            while not done.wait(HEARTBEAT):
                log.info("%s: still running (%d s)", label, time.time() - started)
        threading.Thread(target=heartbeat, daemon=True).start()
    try:
        output, _ = proc.communicate(input_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        done.set()
        raise CommandFailed(argv, "timeout after %ss" % timeout, output)
    finally:
        done.set()
    if label:
        log.info("%s: finished in %.1f s (exit %d)", label, time.time() - started, proc.returncode)
    if check and proc.returncode != 0:
        raise CommandFailed(argv, proc.returncode, output)
    return proc.returncode, output


def run_in_chroot(root, argv, check=True, input_text=None, label=None, timeout=None, extra_env=None):
    """Run ``argv`` inside the guest mounted at ``root`` with a clean, guest-style environment."""
    env = dict(CHROOT_ENV)
    if extra_env:
        env.update(extra_env)
    return run(["chroot", root] + list(argv), check=check, input_text=input_text, env=env,
               label=label, timeout=timeout)


def which(name, root=None):
    """Path of ``name`` on the PATH of the host, or of the guest at ``root`` (a guest path then).

    Guest paths are resolved inside the guest (an absolute symlink such as ``/sbin -> /usr/sbin``
    must not lead to the host's own tools)."""
    if root is None:
        for directory in os.environ.get("PATH", "").split(os.pathsep):
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
        return None
    fs = GuestFS(root)
    for directory in CHROOT_ENV["PATH"].split(":"):
        candidate = fs.host_path(directory + "/" + name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return directory + "/" + name
    return None
