"""File access inside the mounted guest: safe paths, one backup per file, dry runs, change records.

Every item reads and writes the guest through :class:`GuestFS`, never with bare ``open``:

* guest paths are resolved with the guest's root as ``/``, so an absolute symlink in the guest
  (``/etc/resolv.conf -> /run/...``) can never lead a write onto the repair host;
* the first time a file is modified, its original is copied under ``BACKUP_DIR`` (mirroring its
  path), and never overwritten by a later run, so the true original survives repeated repairs;
  backups live outside configuration directories, where no tool would read them as configuration;
* writes that would not change a file are skipped, which is what makes a second run change nothing;
* in a dry run nothing is written: the intended change is recorded with a unified diff;
* every change is recorded on the item being processed, for the report.
"""
import difflib
import errno
import os
import shutil
import stat

from .errors import AgentError

BACKUP_DIR = "/var/lib/image-repair/backup"
_MAX_SYMLINKS = 40


class ChangeRecord(object):
    """What one repair item changed (or, in a dry run, would change)."""

    def __init__(self):
        self.files = []      # guest paths written, created or removed
        self.backups = []    # guest paths of the backups made
        self.commands = []   # commands run (or that would run)
        self.diffs = []      # dry run: unified diffs of intended writes

    def add_file(self, path):
        if path not in self.files:
            self.files.append(path)

    def add_command(self, argv):
        text = " ".join(argv) if isinstance(argv, (list, tuple)) else str(argv)
        self.commands.append(text)

    def include(self, other):
        """Add what ``other`` changed (a shared regeneration's record) to this record."""
        for path in other.files:
            self.add_file(path)
        self.backups.extend(b for b in other.backups if b not in self.backups)
        self.commands.extend(other.commands)
        self.diffs.extend(other.diffs)

    def is_empty(self):
        return not (self.files or self.commands)

    def to_dict(self):
        data = {"files": self.files, "backups": self.backups, "commands": self.commands}
        if self.diffs:
            data["diffs"] = self.diffs
        return data


class GuestFS(object):
    def __init__(self, root, dry_run=False):
        self.root = os.path.abspath(root)
        self.dry_run = dry_run
        self.record = ChangeRecord()  # replaced by the engine for each item

    # -- paths -------------------------------------------------------------------------------
    def host_path(self, path, follow_last=True):
        """Host path of guest ``path``, following symlinks as the guest would (root = guest /)."""
        if not path.startswith("/"):
            raise AgentError("guest paths must be absolute: %r" % path)
        parts = [p for p in path.split("/") if p]
        resolved = []
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == ".":
                continue
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            candidate = self.root + "/" + "/".join(resolved + [part])
            if os.path.islink(candidate) and (parts or follow_last):
                hops += 1
                if hops > _MAX_SYMLINKS:
                    raise AgentError("too many symlinks resolving %s in the guest" % path)
                target = os.readlink(candidate)
                if target.startswith("/"):
                    resolved = []
                parts = [p for p in target.split("/") if p] + parts
                continue
            resolved.append(part)
        return self.root + "/" + "/".join(resolved) if resolved else self.root

    # -- reading -------------------------------------------------------------------------------
    def exists(self, path):
        return os.path.lexists(self.host_path(path, follow_last=False)) and os.path.exists(self.host_path(path))

    def lexists(self, path):
        return os.path.lexists(self.host_path(path, follow_last=False))

    def isfile(self, path):
        return os.path.isfile(self.host_path(path))

    def isdir(self, path):
        return os.path.isdir(self.host_path(path))

    def islink(self, path):
        return os.path.islink(self.host_path(path, follow_last=False))

    def listdir(self, path):
        host = self.host_path(path)
        return sorted(os.listdir(host)) if os.path.isdir(host) else []

    def read_text(self, path, default=None):
        try:
            with open(self.host_path(path), "rb") as handle:
                return handle.read().decode("utf-8", "surrogateescape")
        except (IOError, OSError) as error:
            if error.errno in (errno.ENOENT, errno.ENOTDIR) and default is not None:
                return default
            if error.errno in (errno.ENOENT, errno.ENOTDIR):
                return None
            raise

    def read_bytes(self, path):
        with open(self.host_path(path), "rb") as handle:
            return handle.read()

    # -- writing -------------------------------------------------------------------------------
    def backup(self, path):
        """Copy the original of guest ``path`` under BACKUP_DIR once; return the backup's guest path."""
        source = self.host_path(path)
        backup_guest = BACKUP_DIR + path
        if not os.path.lexists(source):
            return None
        target = self.host_path(backup_guest)
        if os.path.lexists(target):
            return backup_guest  # the first run's copy is the true original: keep it
        if self.dry_run:
            return backup_guest
        parent = os.path.dirname(target)
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o700)
        shutil.copy2(source, target)
        self.record.backups.append(backup_guest)
        return backup_guest

    def write_text(self, path, content, mode=None):
        """Write ``content`` to guest ``path`` if it differs; back up the original first.

        Returns True when the file changed (or would change, in a dry run)."""
        data = content.encode("utf-8", "surrogateescape")
        target = self.host_path(path)
        old = None
        if os.path.exists(target):
            with open(target, "rb") as handle:
                old = handle.read()
            if old == data:
                return False
        if self.dry_run:
            old_text = (old or b"").decode("utf-8", "surrogateescape")
            diff = "".join(difflib.unified_diff(
                old_text.splitlines(True), content.splitlines(True),
                fromfile=("a" + path) if old is not None else "/dev/null", tofile="b" + path))
            self.record.diffs.append(diff)
            self.record.add_file(path)
            return True
        if old is not None:
            self.backup(path)
            if mode is None:
                mode = stat.S_IMODE(os.stat(target).st_mode)
        parent = os.path.dirname(target)
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o755)
        # Write beside the file then rename: a crash never leaves a half-written fstab.
        temporary = target + ".image-repair.tmp"
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode if mode is not None else 0o644)
        if old is not None:
            st = os.stat(target)
            os.chown(temporary, st.st_uid, st.st_gid)
        os.rename(temporary, target)
        self.record.add_file(path)
        return True

    def remove(self, path):
        """Remove guest ``path`` (file or symlink) after backing it up. True if it existed."""
        target = self.host_path(path, follow_last=False)
        if not os.path.lexists(target):
            return False
        if self.dry_run:
            self.record.add_file(path)
            self.record.diffs.append("remove %s\n" % path)
            return True
        if not os.path.islink(target):
            self.backup(path)
        os.unlink(target)
        self.record.add_file(path)
        return True

    def copy_in(self, host_source, path, mode=0o644):
        """Place a host file into the guest (e.g. a downloaded package), recorded as a change."""
        if self.dry_run:
            self.record.add_file(path)
            return
        target = self.host_path(path)
        parent = os.path.dirname(target)
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o755)
        shutil.copyfile(host_source, target)
        os.chmod(target, mode)
        self.record.add_file(path)
