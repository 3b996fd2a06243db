"""Files the control-plane commands write for the user (``image-repair repair --output``).

``OutputFile.check(path, force, inputs)`` runs before any work and refuses (UsageError, exit 2):
* a path that exists, unless ``force`` (and even then: not a folder, not a non-regular file);
* a path that is one of the command's inputs, compared by device and inode (a hardlink or
  another path to the same file is the same file), whatever ``force`` says;
* a folder that does not exist or is not writable.

``write_copy(source)`` then writes atomically: a sparse copy to a temporary file in the same
folder, published by ``link`` (fails if something appeared at the path meanwhile: nothing is
overwritten) or, with ``force``, by ``rename`` (the old file is replaced whole, never half-written).
The temporary file is removed on any failure.
"""
import os
import subprocess
import tempfile
from typing import Iterable, NamedTuple, Optional, Tuple

from .args import UsageError
from ..control.inputs import shorten


def file_identity(path: str) -> Optional[Tuple[int, int]]:
    """(device, inode) of what ``path`` names (symlinks followed), None when nothing is there."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


class OutputFile(NamedTuple):
    path: str
    force: bool
    option: str

    @classmethod
    def check(cls, path: str, force: bool, inputs: Iterable[str] = (), option: str = "--output") -> "OutputFile":
        path = os.path.abspath(path)
        shown = shorten(path, 120)
        folder = os.path.dirname(path)
        if os.path.lexists(path):
            if not force:
                raise UsageError("%s %s already exists: refusing to overwrite it (--force replaces it)" % (option, shown))
            if os.path.isdir(path) or not (os.path.isfile(path) or os.path.islink(path)):
                raise UsageError("%s %s exists and is not a regular file" % (option, shown))
        identity = file_identity(path)
        for source in inputs:
            if identity is not None and identity == file_identity(source):
                raise UsageError("%s %s is the input %s itself (same device and inode)"
                                 % (option, shown, shorten(source, 120)))
        if not os.path.isdir(folder):
            raise UsageError("%s %s: folder %s does not exist" % (option, shown, shorten(folder, 120)))
        if not os.access(folder, os.W_OK | os.X_OK):
            raise UsageError("%s %s: folder %s is not writable" % (option, shown, shorten(folder, 120)))
        return cls(path, force, option)

    def write_copy(self, source: str) -> None:
        """A sparse copy of ``source`` published at the path in one step (see the module's doc)."""
        if file_identity(source) == file_identity(self.path):
            raise UsageError("%s %s is the file to copy itself" % (self.option, shorten(self.path, 120)))
        handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(self.path)[:64], suffix=".part",
                                             dir=os.path.dirname(self.path))
        os.close(handle)
        try:
            result = subprocess.run(["cp", "--sparse=always", "--", source, temporary],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
            if result.returncode != 0:
                raise OSError("copying %s failed: %s" % (source, result.stderr.strip()[:300]))
            os.chmod(temporary, 0o644)
            if self.force:
                os.replace(temporary, self.path)
            else:
                try:
                    os.link(temporary, self.path)      # never replaces: FileExistsError instead
                except FileExistsError:
                    raise UsageError("%s %s appeared while the command ran: not overwritten"
                                     % (self.option, shorten(self.path, 120)))
        finally:
            if os.path.lexists(temporary):
                os.unlink(temporary)
