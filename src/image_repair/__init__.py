"""ecs-image-repair: make custom Linux images boot and be manageable on Alibaba Cloud ECS.

Two planes live in this package:

* ``image_repair.agent``: the data plane, the offline repair engine that runs on the repair host
  (standard library only, Python 3.6+, shipped as one zipapp);
* everything else: the control plane (models, workflow steps, FC handlers, store, clients, emulator).

This module must stay import-free: it is packed into the agent zipapp.
"""

__version__ = "0.1.0"
