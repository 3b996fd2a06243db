"""Adapters over the Alibaba Cloud SDKs: the ECS port (``clients.ecs``), CloudFlow StartExecution
(``clients.cloudflow``) and Function Compute's asynchronous invocation (``clients.fc``). Each module
imports its SDK when first called, never at import time. Their errors are ``cloud_errors.CloudError``
and their credentials, region and endpoint come from ``cloud_config``."""
