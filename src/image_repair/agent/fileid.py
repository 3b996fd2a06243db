"""What a file is, and what its mode bits say, independent of the path used to reach it.

Safety decisions (is this output one of the inputs? is this image attached to a loop device? is
it the file another run holds?) compare identities, never paths: a hard link, a symlink, a bind
mount or a relative path all reach the same inode.
"""
import os
import stat


def file_identity(st):
    """A block device is its device number (any node for it is the same disk); anything else is
    its (filesystem device, inode)."""
    if stat.S_ISBLK(st.st_mode):
        return ("block", st.st_rdev)
    return ("file", st.st_dev, st.st_ino)


def path_identity(path):
    """file_identity of what ``path`` reaches (symlinks followed), or None when nothing is there."""
    try:
        return file_identity(os.stat(path))
    except OSError:
        return None


def owner_may_write(st):
    """The owner's write bit: what ``chmod a-w`` takes away. Root passes os.access() whatever the
    mode says, so a user's "read-only" is read from the mode bits themselves."""
    return bool(st.st_mode & stat.S_IWUSR)


def mode_text(st):
    return "%04o" % stat.S_IMODE(st.st_mode)
