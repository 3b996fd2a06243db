"""Adapters hiding the Alibaba Cloud SDKs: the ECS port (clients.ecs) and CloudFlow StartExecution
(clients.cloudflow). Modules import their SDK when first called, never at import time."""
from .errors import CloudError

__all__ = ["CloudError"]
