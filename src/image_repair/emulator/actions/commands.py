"""Cloud Assistant on the wire: DescribeCloudAssistantStatus, SendFile, RunCommand,
InvokeCommand, DescribeInvocations, DescribeInvocationResults (typed methods and the running of
invocations: models/commands.py)."""
import base64
import json
from typing import Optional, Tuple

from ..errors import error, invalid
from ..models.commands import COMMAND_TYPES, RECORD_STATUS
from ..params import Params
from ..resources import iso
from . import api, paginate

OUTPUT_LIMIT = 24 * 1024


def encode_output(text: str, encoding: str) -> Tuple[str, int]:
    """An output as the API returns it: cut at 24 KB (the rest counted as Dropped), Base64 or
    plain text."""
    raw = text.encode("utf-8")
    dropped = max(0, len(raw) - OUTPUT_LIMIT)
    raw = raw[:OUTPUT_LIMIT]
    if encoding == "PlainText":
        return raw.decode("utf-8", "replace"), dropped
    return base64.b64encode(raw).decode("ascii"), dropped


def _timeout(p: Params) -> Optional[int]:
    """Timeout in seconds (None when absent); its range is the typed method's rule."""
    timeout = p.str("Timeout")
    if timeout is not None and not timeout.isdigit():
        raise error("InvalidTimeout", "Timeout must be 10-86400 seconds.")
    return None if timeout is None else int(timeout)


class CommandResponses:

    @api
    def DescribeCloudAssistantStatus(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        found = self.backend.describe_cloud_assistant_status(p.list("InstanceId", limit=50))
        page, envelope = paginate(found, p, default_size=10, max_size=50, next_token=True)
        now = self.backend.clock.now()
        statuses = [{"InstanceId": s.instance.id, "CloudAssistantStatus": "true" if s.running else "false",
                     "CloudAssistantVersion": "2.2.3.857" if s.instance.cloud_assistant else "",
                     "OSType": "Linux", "InvocationCount": s.invocation_count, "ActiveTaskCount": 0,
                     "LastHeartbeatTime": iso(now) if s.running else "",
                     "LastInvokedTime": "", "SupportSessionManager": True}
                    for s in page]
        return dict(envelope, InstanceCloudAssistantStatusSet={"InstanceCloudAssistantStatus": statuses})

    @api
    def RunCommand(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        command_type = p.str("Type", required=True, choices=COMMAND_TYPES)
        content = p.str("CommandContent", required=True)
        if p.str("ContentEncoding", default="PlainText", choices=["PlainText", "Base64"]) == "Base64":
            try:
                content = p.base64("CommandContent").decode("utf-8")
            except UnicodeDecodeError:
                raise invalid("CommandContent", "It is not valid Base64.")
        timeout = _timeout(p)
        command, invocation = self.backend.run_command(
            p.list("InstanceId", required=True), command_type, content,
            parameters=p.json_object("Parameters"), enable_parameter=p.bool("EnableParameter"),
            keep_command=p.bool("KeepCommand"), name=p.str("Name", default="run-command"),
            timeout=60 if timeout is None else timeout, tags=dict(p.tags()))
        return {"CommandId": command.id, "InvokeId": invocation.id}

    @api
    def InvokeCommand(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        invocation = self.backend.invoke_command(
            p.str("CommandId", required=True), p.list("InstanceId", required=True),
            parameters=p.json_object("Parameters"), timeout=_timeout(p), tags=dict(p.tags()))
        return {"InvokeId": invocation.id}

    @api
    def SendFile(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        name = p.str("Name", required=True)
        target = p.str("TargetDir", required=True)
        if p.str("ContentType", default="PlainText", choices=["PlainText", "Base64"]) == "Base64":
            data = p.base64("Content", required=True)
        else:
            data = p.str("Content", required=True).encode("utf-8")
        timeout = _timeout(p)
        invocation = self.backend.send_file(
            p.list("InstanceId", required=True), name, target, data, mode=p.str("FileMode", default="0644"),
            timeout=60 if timeout is None else timeout, tags=dict(p.tags()))
        return {"InvokeId": invocation.id}

    @api
    def DescribeInvocations(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        encoding = p.str("ContentEncoding", default="Base64", choices=["PlainText", "Base64"])
        include_output = p.bool("IncludeOutput")
        found = self.backend.describe_invocations(p.str("InvokeId"), p.str("CommandId"), p.str("InstanceId"),
                                                  status=p.str("InvokeStatus"))
        page, envelope = paginate(found, p, default_size=10, max_size=50, next_token=True)
        now = self.backend.clock.now()
        shapes = []
        for inv in page:
            overall = inv.status()
            instances = []
            for rec in inv.records:
                text, exit_code, error_code, error_info = rec.visible(now)
                output, dropped = encode_output(text if include_output else "", encoding)
                instances.append({
                    "InstanceId": rec.instance_id, "InvocationStatus": rec.invocation_status,
                    "InstanceInvokeStatus": RECORD_STATUS[rec.invocation_status],
                    "ExitCode": exit_code if exit_code is not None else 0,
                    "ErrorCode": error_code, "ErrorInfo": error_info, "Output": output,
                    "Dropped": dropped, "Repeats": 1, "Timed": False, "CreationTime": iso(inv.created),
                    "StartTime": iso(rec.start) if rec.start else "",
                    "FinishTime": iso(rec.finish) if rec.finish else "", "UpdateTime": iso(now)})
            content = inv.content if encoding == "PlainText" else base64.b64encode(inv.content.encode()).decode()
            shapes.append({
                "InvokeId": inv.id, "CommandId": inv.command_id, "CommandName": inv.command_name,
                "CommandType": inv.command_type, "CommandContent": content,
                "InvocationStatus": overall, "InvokeStatus": RECORD_STATUS.get(overall, overall),
                "Parameters": json.dumps(inv.parameters), "Timeout": inv.timeout, "RepeatMode": "Once",
                "Timed": False, "Frequency": "", "CreationTime": iso(inv.created), "Username": "root",
                "InvokeInstances": {"InvokeInstance": instances},
                "Tags": {"Tag": [{"TagKey": k, "TagValue": v} for k, v in inv.tags.items()]}})
        return dict(envelope, Invocations={"Invocation": shapes})

    @api
    def DescribeInvocationResults(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        encoding = p.str("ContentEncoding", default="Base64", choices=["PlainText", "Base64"])
        rows = self.backend.describe_invocation_results(p.str("InvokeId"), p.str("CommandId"), p.str("InstanceId"),
                                                        record_status=p.str("InvokeRecordStatus"))
        page, envelope = paginate(rows, p, default_size=10, max_size=50, next_token=True)
        results = []
        now = self.backend.clock.now()
        for inv, rec in page:
            text, exit_code, error_code, error_info = rec.visible(now)
            output, dropped = encode_output(text, encoding)
            results.append({
                "InvokeId": inv.id, "CommandId": inv.command_id, "InstanceId": rec.instance_id,
                "InvocationStatus": rec.invocation_status,
                "InvokeRecordStatus": RECORD_STATUS[rec.invocation_status],
                "ExitCode": exit_code if exit_code is not None else 0,
                "ErrorCode": error_code, "ErrorInfo": error_info, "Output": output,
                "Dropped": dropped, "Repeats": 1, "Username": "root",
                "StartTime": iso(rec.start) if rec.start else "",
                "FinishedTime": iso(rec.finish) if rec.finish else "",
                "StopTime": "", "Tags": {"Tag": []}})
        return {"Invocation": dict(envelope, InvocationResults={"InvocationResult": results})}
