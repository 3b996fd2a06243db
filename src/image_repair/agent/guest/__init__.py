"""Facts about the mounted guest and the regenerations items share (initramfs, boot config)."""
