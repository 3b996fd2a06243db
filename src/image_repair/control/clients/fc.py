"""Fan-out by Function Compute asynchronous invocation (FC 3.0 API, ``alibabacloud_fc20230330``).

``FcAsyncLauncher.launch(execution_id)`` invokes the start function (``image-repair-start``)
asynchronously with the execution's recorded start parameters: the start function validates them,
finds the execution already recorded (same deterministic id) and starts its CloudFlow execution.
The sweep's own invocation therefore spends one quick HTTP call per repair instead of waiting on
StartExecution, and FC retries a start that failed (its async retry policy).

Why the 2023-03-30 API: s.yaml deploys with the fc3 component, and FC 3.0 functions have no service
("Services are no longer used in Function Compute. Functions become first-level entities.",
https://www.alibabacloud.com/help/en/functioncompute/feature-updates-in-function-compute-3), while the
2021-04-06 InvokeFunction addresses ``/services/{serviceName}/functions/{functionName}``. The FC 3.0
InvokeFunction is ``POST /2023-03-30/functions/{functionName}/invocations``
(https://help.aliyun.com/zh/functioncompute/fc-3-0/developer-reference/api-fc-2023-03-30-invokefunction).

Idempotent: the invocation is an asynchronous *task* whose id is the execution id
(``x-fc-async-task-id``; the function needs ``asyncInvokeConfig.asyncTask: true``, see s.yaml). FC
refuses a second task with an id it has seen with HTTP 409, which is "already started" whatever its
error code says, and CloudFlow refuses a second execution of one name anyway.

Which fan-out the sweep uses: ``IMAGE_REPAIR_FANOUT=cloudflow`` (default) or ``fc-async``
(``launcher_from_env``).
"""
import json
import os
from typing import Optional

from .errors import CloudError, classify

START_FUNCTION = "image-repair-start"


class FcAsyncLauncher:
    idempotent = True

    def __init__(self, client, store, function_name: str = START_FUNCTION, qualifier: Optional[str] = None):
        self.client, self.store = client, store
        self.function_name, self.qualifier = function_name, qualifier

    def launch(self, execution_id: str) -> bool:
        """-> True when this call queued the start, False when FC already had it."""
        from alibabacloud_fc20230330 import models as m
        from darabonba.runtime import RuntimeOptions
        execution = self.store.get_execution(execution_id)
        if execution is None:
            raise CloudError("ExecutionNotFound", "no execution %s in the store to launch" % execution_id,
                             "InvokeFunction")
        body = json.dumps(execution.params, sort_keys=True).encode("utf-8")
        headers = m.InvokeFunctionHeaders(x_fc_invocation_type="Async",
                                          x_fc_async_task_id=execution_id)
        try:
            response = self.client.invoke_function_with_options(
                self.function_name, m.InvokeFunctionRequest(body=body, qualifier=self.qualifier),
                headers, RuntimeOptions(autoretry=False))
        except Exception as error:
            cloud = classify(error, "InvokeFunction")
            if cloud.status == 409:          # a task with this id exists: already launched
                return False
            raise cloud from error
        return int(response.status_code) in (200, 202)


def fc_client_from_env(keys=None):
    """The FC 2023-03-30 client with the SDK credential chain (clients/cloud_config.py), at the
    invocation endpoint ``<account id>.<region>.fc.aliyuncs.com`` (FC sets FC_ACCOUNT_ID and
    FC_REGION in a function's environment: InvokeFunction is served there, not at the SDK's
    management endpoint fcv3.<region>.aliyuncs.com), or IMAGE_REPAIR_FC_ENDPOINT."""
    from alibabacloud_fc20230330.client import Client

    from .cloud_config import region_from_env, sdk_config
    region = region_from_env()
    endpoint = os.environ.get("IMAGE_REPAIR_FC_ENDPOINT")
    if not endpoint:
        account = os.environ.get("FC_ACCOUNT_ID")
        if not account:
            raise CloudError("MissingConfiguration", "FC_ACCOUNT_ID (or IMAGE_REPAIR_FC_ENDPOINT) is not set")
        endpoint = "%s.%s.fc.aliyuncs.com" % (account, region)
    return Client(sdk_config(region, endpoint, keys))


def launcher_from_env(store):
    """The sweep's fan-out: IMAGE_REPAIR_FANOUT=cloudflow (default: CloudFlow StartExecution) or
    fc-async (the start function invoked asynchronously; IMAGE_REPAIR_START_FUNCTION overrides its
    name, image-repair-start by default; FC 3.0 functions have no service)."""
    fanout = os.environ.get("IMAGE_REPAIR_FANOUT", "cloudflow")
    if fanout == "cloudflow":
        from ..launchers import CloudFlowLauncher
        from .cloudflow import cloudflow_from_env
        return CloudFlowLauncher(cloudflow_from_env())
    if fanout == "fc-async":
        return FcAsyncLauncher(fc_client_from_env(), store,
                               os.environ.get("IMAGE_REPAIR_START_FUNCTION") or START_FUNCTION)
    raise CloudError("MissingConfiguration", "IMAGE_REPAIR_FANOUT must be cloudflow or fc-async, not %r" % fanout)
