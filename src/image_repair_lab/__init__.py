"""The lab, beside the product: real Debian test guests (``testimages``), the qemu boot proof
(``bootproof``) and the demo of the main job (``demo``). It imports the product; the product never
imports it, and the Function Compute package does not ship it."""
