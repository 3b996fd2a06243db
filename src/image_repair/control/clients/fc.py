"""Fan-out by Function Compute asynchronous invocation (FC 3.0 API, ``alibabacloud_fc20230330``).

``FcInvoker.invoke_async`` queues an asynchronous invocation of a function: the sweep's fan-out
(``launchers.FcAsyncLauncher``) invokes the start function (``image-repair-start``) with an
execution's recorded start parameters: the start function validates them, finds the execution
already recorded (same deterministic id) and starts its CloudFlow execution. The sweep's own
invocation therefore spends one quick HTTP call per repair instead of waiting on StartExecution,
and FC retries a start that failed (its async retry policy).

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
(``launchers.fanout_launcher``).
"""
from typing import Optional

from ..cloud_config import sdk_config
from ..cloud_errors import CloudError, classify


class FcInvoker:
    """InvokeFunction of the FC 3.0 API, asynchronous: the adapter under ``launchers.FcAsyncLauncher``."""

    def __init__(self, client):
        self.client = client                # alibabacloud_fc20230330.client.Client

    def invoke_async(self, function_name: str, body: bytes, task_id: str, qualifier: Optional[str] = None) -> bool:
        """Queue one asynchronous invocation whose task id is ``task_id``; -> True when this call
        queued it, False when FC already had a task of that id (HTTP 409, whatever its code says)."""
        # lazy: the FC SDK, loaded on the sweep's first fc-async launch only
        from alibabacloud_fc20230330 import models as m
        from darabonba.runtime import RuntimeOptions
        headers = m.InvokeFunctionHeaders(x_fc_invocation_type="Async", x_fc_async_task_id=task_id)
        try:
            response = self.client.invoke_function_with_options(
                function_name, m.InvokeFunctionRequest(body=body, qualifier=qualifier), headers,
                RuntimeOptions(autoretry=False))
        except Exception as error:
            cloud = classify(error, "InvokeFunction")
            if cloud.status == 409:          # a task with this id exists: already launched
                return False
            raise cloud from error
        return int(response.status_code) in (200, 202)


def fc_client(settings, keys=None):
    """The FC 2023-03-30 client with the SDK credential chain (cloud_config.py), at the
    invocation endpoint ``<account id>.<region>.fc.aliyuncs.com`` (FC sets FC_ACCOUNT_ID and
    FC_REGION in a function's environment: InvokeFunction is served there, not at the SDK's
    management endpoint fcv3.<region>.aliyuncs.com), or the settings' IMAGE_REPAIR_FC_ENDPOINT."""
    from alibabacloud_fc20230330.client import Client     # lazy: the FC SDK, for the fc-async fan-out only
    region = settings.region()
    endpoint = settings.fc_endpoint
    if not endpoint:
        account = settings.account_id
        if not account:
            raise CloudError("MissingConfiguration", "FC_ACCOUNT_ID (or IMAGE_REPAIR_FC_ENDPOINT) is not set")
        endpoint = "%s.%s.fc.aliyuncs.com" % (account, region)
    return Client(sdk_config(region, endpoint, keys))
