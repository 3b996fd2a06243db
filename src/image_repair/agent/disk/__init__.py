"""The agent's disk layer: partition tables, LVM, image files, safe mounts and the chroot.

Entry points for the rest of the agent are in :mod:`.session`: ``resolve_target`` (every
validation and refusal, before anything is written) and ``open_guest`` (mount the guest, yield a
``MountedGuest``, undo everything on the way out).
"""
