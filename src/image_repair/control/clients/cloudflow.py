"""CloudFlow (Serverless Workflow) StartExecution over ``alibabacloud_fnf20190315``.

The execution name is the repair's deterministic execution id: CloudFlow returns a running
execution of that name as it is, and answers ``ExecutionAlreadyExists`` for a finished one, so two
starts of one repair never make two executions."""
import json
from typing import Optional

from ..cloud_config import sdk_config
from ..cloud_errors import CloudError, classify


class CloudFlowStarter:
    def __init__(self, client, flow_name: str):
        self.client = client
        self.flow_name = flow_name

    def start(self, execution_name: str, execution_input: dict) -> dict:
        """-> {"name", "started"}; started is False when the execution already existed."""
        # lazy: the CloudFlow SDK, loaded by the first start only (a step function never needs it)
        from alibabacloud_fnf20190315 import models as m
        from darabonba.runtime import RuntimeOptions
        request = m.StartExecutionRequest(flow_name=self.flow_name, execution_name=execution_name,
                                          input=json.dumps(execution_input))
        try:
            self.client.start_execution_with_options(request, RuntimeOptions(autoretry=False))
        except Exception as error:
            cloud = classify(error, "StartExecution")
            if cloud.service_code == "ExecutionAlreadyExists":
                return {"name": execution_name, "started": False}
            raise cloud from error
        return {"name": execution_name, "started": True}


def cloudflow_starter(settings, flow_name: Optional[str] = None, keys=None) -> CloudFlowStarter:
    """StartExecution of the settings' flow (IMAGE_REPAIR_FLOW_NAME) with the SDK credential chain
    and the SDK's endpoint for the region (cloud_config.py); IMAGE_REPAIR_FNF_ENDPOINT points it
    elsewhere."""
    from alibabacloud_fnf20190315.client import Client    # lazy: the CloudFlow SDK, for starts only
    flow_name = flow_name or settings.flow_name
    if not flow_name:
        raise CloudError("MissingConfiguration", "IMAGE_REPAIR_FLOW_NAME (the deployed flow's name) is not set")
    config = sdk_config(settings.region(), settings.fnf_endpoint, keys)
    return CloudFlowStarter(Client(config), flow_name)
