"""The offline repair agent (data plane).

Standard library only and Python 3.6 compatible: it runs on Alibaba Cloud Linux 3's system python
on the repair host, delivered as a single zipapp through Cloud Assistant. Layout:

* ``disk/``    find the target disk (serial, image file, block device), refuse unsafe ones, parse
               partition tables and LVM metadata, mount the guest, bind the chroot, clean up;
* ``guest/``   facts about the mounted guest (distribution, initramfs tool, bootloader, network
               stack, kernels) and the shared regenerations (initramfs, bootloader configuration);
* ``items/``   one module per repair item, each with ``detect``, ``fix`` and ``verify``;
* ``engine``   runs the requested items on a mounted guest and builds the report;
* ``cli``      the agent's command line (repair host and local image files).
"""
