"""Files the agent writes for the user: the ``--report`` and the ``--output`` copy of a disk.

The rules (docs/safety.md): an output is never one of the command's inputs (compared by device
and inode, so a hard link, a symlink or another path to the image counts as the image), never an
existing file unless ``--force`` (and even then only a regular file is replaced), checked before
any work (its folder exists, is a folder and may be written), and written atomically: a
temporary file in the same folder, flushed with fsync, then published in one step. Without
``--force`` publishing is ``link()``, which fails rather than replace a file that appeared while
the command ran; with ``--force`` it is ``rename()``.
"""
import errno
import os
import stat
import tempfile

from .errors import AgentError, BadInput
from .fileid import file_identity, mode_text, owner_may_write

# Temporary names in the destination folder: hidden, and recognisably ours.
TEMP_PREFIX = ".image-repair-"


def check_folder_writable(folder, what, force):
    """BadInput unless ``folder`` exists, is a folder, may be written by us and, without
    ``force``, is not marked read-only by its mode bits (owner write bit clear)."""
    try:
        st = os.stat(folder)
    except OSError:
        raise BadInput("%s: folder %s does not exist" % (what, folder))
    if not stat.S_ISDIR(st.st_mode):
        raise BadInput("%s: %s is not a folder" % (what, folder))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BadInput("%s: folder %s is not writable" % (what, folder))
    if not force and not owner_may_write(st):
        raise BadInput("%s: folder %s is read-only (mode %s); --force writes there anyway"
                       % (what, folder, mode_text(st)))


def check_destination(path, what, force):
    """Validate an output path before any work; returns it absolute.

    ``what`` names the option in messages ("--report FILE"). An existing path is refused unless
    ``force``, and a folder, device, FIFO or socket always (only a regular file, or a symlink,
    is ever replaced: the rename replaces the link, not what it points to)."""
    if not path:
        raise BadInput("%s: empty path" % what)
    path = os.path.abspath(path)
    if os.path.isdir(path):
        raise BadInput("%s: %s is a folder; give a file name" % (what, path))
    if os.path.lexists(path):
        st = os.lstat(path)
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            raise BadInput("%s: %s exists and is not a regular file: refusing to replace it" % (what, path))
        if not force:
            raise BadInput("%s: %s already exists: refusing to overwrite it (--force replaces it)" % (what, path))
    check_folder_writable(os.path.dirname(path), what, force)
    return path


def refuse_inputs(path, what, inputs):
    """BadInput when ``path`` reaches one of ``inputs`` ({identity: description}), by whatever
    name: the same inode through a hard link or symlink, or the same block device."""
    try:
        st = os.stat(path)
    except OSError:
        return  # a new file (or a dangling symlink) is no input
    described = inputs.get(file_identity(st))
    if described:
        raise BadInput("%s: %s is %s, an input of this command: refusing to write to it"
                       % (what, path, described))


def refuse_same_path(paths):
    """BadInput when two outputs ({option: absolute path}) name the same new file."""
    seen = {}
    for what, path in sorted(paths.items()):
        if not path:
            continue
        key = (os.path.realpath(os.path.dirname(path)), os.path.basename(path))
        if key in seen:
            raise BadInput("%s and %s name the same file %s" % (seen[key], what, path))
        seen[key] = what


def new_file_mode():
    """0666 less the umask: the mode a file created by open() would have."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def fsync_path(path):
    """Flush a file's data (or a folder's entries) to disk."""
    flags = os.O_RDONLY | (os.O_DIRECTORY if os.path.isdir(path) else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DestinationTaken(AgentError):
    """A file appeared at an output path while the command ran (and --force was not given)."""


def publish(temporary, path, what, force):
    """Put the finished, flushed ``temporary`` at ``path`` in one step (same folder), then flush
    the folder. Without ``force`` a file that appeared at ``path`` meanwhile is left alone:
    DestinationTaken, and ``temporary`` is still there for the caller to keep or remove."""
    taken = DestinationTaken("%s: %s appeared while this command ran: not overwritten" % (what, path))
    if force:
        os.rename(temporary, path)
    else:
        try:
            os.link(temporary, path)
        except OSError as error:
            if error.errno == errno.EEXIST:
                raise taken
            if error.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
                raise
            # a filesystem without hard links (vfat, some FUSE): check, then rename
            if os.path.lexists(path):
                raise taken
            os.rename(temporary, path)
        else:
            os.unlink(temporary)
    fsync_path(os.path.dirname(path))


def write_atomically(path, text, what, force):
    """Write ``text`` to ``path`` through a flushed temporary file in the same folder."""
    folder, name = os.path.split(path)
    fd, temporary = tempfile.mkstemp(prefix=TEMP_PREFIX + name[:100] + ".", dir=folder)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), new_file_mode())
            os.fsync(handle.fileno())
        publish(temporary, path, what, force)
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise
