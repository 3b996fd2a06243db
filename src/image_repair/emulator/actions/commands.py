"""Cloud Assistant: DescribeCloudAssistantStatus, SendFile, RunCommand, InvokeCommand,
DescribeInvocations, DescribeInvocationResults.

An invocation record is Pending while being delivered, Running while the command runs, then
Finished as Success, Failed or Timeout. What a command does is decided when it starts: an
injected fault, then ``backend.command_handlers`` (the disk-backed mode plugs in here; a handler
may answer RUNNING and call ``finish_record`` when its background run ends), then the command's
seeded behaviour (exit code, output, run time), else exit 0 with no output.
"""
import base64
import json
import re
from typing import List, Optional, Tuple

from ..errors import error, invalid
from ..params import Params
from ..resources import Command, Invocation, InvocationRecord, iso
from . import api, paginate

OUTPUT_LIMIT = 24 * 1024
RUNNING = object()  # a command handler's answer: started in the background, finish_record follows
COMMAND_TYPES = ["RunShellScript", "RunPythonScript", "RunPerlScript", "RunBatScript", "RunPowerShellScript"]
RECORD_STATUS = {"Pending": "Pending", "Running": "Running", "Success": "Finished",
                 "Failed": "Failed", "Timeout": "Failed"}


def b64len(text: str) -> int:
    return len(base64.b64encode(text.encode("utf-8")))


def render(content: str, parameters: dict) -> str:
    return re.sub(r"\{\{\s*([A-Za-z0-9_.:-]+)\s*\}\}",
                  lambda m: str(parameters.get(m.group(1), m.group(0))), content)


def encode_output(text: str, encoding: str) -> Tuple[str, int]:
    raw = text.encode("utf-8")
    dropped = max(0, len(raw) - OUTPUT_LIMIT)
    raw = raw[:OUTPUT_LIMIT]
    if encoding == "PlainText":
        return raw.decode("utf-8", "replace"), dropped
    return base64.b64encode(raw).decode("ascii"), dropped


class CommandActions:

    # --- validation shared by the three invoking actions --------------------------------------
    def _target_instances(self, p: Params) -> List[str]:
        ids = p.list("InstanceId", required=True)
        if len(ids) > 100:
            raise error("InstanceIds.ExceedLimit")
        for instance_id in ids:
            inst = self.instances.get(instance_id)
            if inst is None:
                raise error("InvalidInstance.NotFound")
            if inst.status != "Running":
                raise error("InvalidInstance.NotRunning")
        return ids

    def _timeout(self, p: Params, default: int = 60) -> int:
        timeout = p.str("Timeout")
        if timeout is None:
            return default
        if not timeout.isdigit() or not 10 <= int(timeout) <= 86400:
            raise error("InvalidTimeout", "Timeout must be 10-86400 seconds.")
        return int(timeout)

    def _start_invocation(self, command: Command, content: str, parameters: dict, timeout: int,
                          instance_ids: List[str], tags: dict, kind: str = "command") -> Invocation:
        invoke_id = self.new_id("t-")
        lat = self.latency
        invocation = Invocation(id=invoke_id, command_id=command.id, command_name=command.name,
                                command_type=command.type, content=content, parameters=parameters,
                                timeout=timeout, created=self.clock.now(), kind=kind, tags=tags)
        for instance_id in instance_ids:
            # The Running stay is a placeholder: the run time is decided when the command starts.
            progress = self.new_progress("invocation.run", [lat.invocation_delivery, 0.0])
            invocation.records.append(InvocationRecord(instance_id, progress))
        self.invocations[invoke_id] = invocation
        for record in invocation.records:
            self._settle_record(invocation, record, self.clock.now())
        return invocation

    def _settle_record(self, invocation: Invocation, record: InvocationRecord, now: float) -> None:
        record.progress.stuck_in = self.faults.stuck.get(invocation.id)

        def on_enter(status: str) -> None:
            if status == "Running":
                record.start = record.progress.since
                seconds = self._run_record(invocation, record)
                record.progress.steps[0] = (seconds, "Finished")
            elif status == "Finished":
                record.finish = record.progress.since
        record.progress.settle(now, on_enter)

    def _run_record(self, invocation: Invocation, record: InvocationRecord) -> float:
        """Decide the outcome of one instance's execution; returns its run time."""
        inst = self.instances.get(record.instance_id)
        scale = 1.0 if self.latency.command_seconds > 0 else 0.0  # immediate mode: no run time
        if inst is None or inst.status != "Running":
            return self._finish(record, "Failed", None, "", "InstanceNotRunning", "The instance is not running.")
        if not inst.cloud_assistant or inst.id in self.faults.assistant_down:
            return self._finish(record, "Failed", None, "", "ClientNotRunning", "The Cloud Assistant agent is not running.")
        if invocation.kind == "file":
            target = invocation.parameters["path"]
            inst.files[target] = invocation.parameters["content"]
            return self._finish(record, "Success", 0, "", "", "", scale * self.latency.invocation_delivery)
        fault = self.faults.command_fault(invocation.command_name, invocation.content)
        if fault is not None and fault.exit_code is None:
            return self._finish(record, "Timeout", -1, "", "ExecutionTimeout",
                                "The command execution timed out.", scale * invocation.timeout)
        if fault is not None:
            outcome: Optional[tuple] = (fault.exit_code, fault.output, None)
        else:
            outcome = None
            for handler in self.command_handlers:
                outcome = handler(self, invocation, record, inst)
                if outcome is not None:
                    break
        if outcome is None:
            command = self.commands.get(invocation.command_id)
            outcome = (command.exit_code, command.output, command.seconds) if command else (0, "", None)
        if outcome is RUNNING:
            return float("inf")  # the handler calls finish_record when the command ends
        exit_code, output, seconds = outcome
        seconds = self.latency.command_seconds if seconds is None else seconds
        return self._outcome(invocation, record, exit_code, output, scale * seconds)

    def _outcome(self, invocation: Invocation, record: InvocationRecord, exit_code: int, output: str,
                 seconds: float) -> float:
        if seconds > invocation.timeout:
            return self._finish(record, "Timeout", -1, output, "ExecutionTimeout",
                                "The command execution timed out.", invocation.timeout)
        if exit_code != 0:
            return self._finish(record, "Failed", exit_code, output, "ExitCodeNonzero",
                                "The command exited with a non-zero code.", seconds)
        return self._finish(record, "Success", 0, output, "", "", seconds)

    def finish_record(self, invocation: Invocation, record: InvocationRecord, exit_code: int, output: str,
                      timed_out: bool = False) -> None:
        """End a command a handler runs in the background (it returned RUNNING)."""
        with self.lock:
            now = self.clock.now()
            if timed_out:
                self._finish(record, "Timeout", -1, output, "ExecutionTimeout", "The command execution timed out.")
            else:
                self._outcome(invocation, record, exit_code, output, 0.0)
            if record.progress.steps:  # it ends now on the virtual clock
                record.progress.steps[0] = (max(0.0, now - record.progress.since), "Finished")
            self._settle_record(invocation, record, now)

    @staticmethod
    def _finish(record: InvocationRecord, status: str, exit_code, output: str, code: str,
                info: str, seconds: float = 0.0) -> float:
        record.final_status, record.exit_code, record.output = status, exit_code, output
        record.error_code, record.error_info = code, info
        return seconds

    # --- actions --------------------------------------------------------------------------------
    @api
    def DescribeCloudAssistantStatus(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        ids = p.list("InstanceId", limit=50)
        found = [i for i in self.instances.values() if not ids or i.id in ids]
        page, envelope = paginate(found, p, default_size=10, max_size=50, next_token=True)
        statuses = []
        for inst in page:
            running = inst.status == "Running" and inst.cloud_assistant and inst.id not in self.faults.assistant_down
            count = sum(1 for inv in self.invocations.values() for r in inv.records if r.instance_id == inst.id)
            statuses.append({"InstanceId": inst.id, "CloudAssistantStatus": "true" if running else "false",
                             "CloudAssistantVersion": "2.2.3.857" if inst.cloud_assistant else "",
                             "OSType": "Linux", "InvocationCount": count, "ActiveTaskCount": 0,
                             "LastHeartbeatTime": iso(self.clock.now()) if running else "",
                             "LastInvokedTime": "", "SupportSessionManager": True})
        return dict(envelope, InstanceCloudAssistantStatusSet={"InstanceCloudAssistantStatus": statuses})

    @api
    def RunCommand(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        ctype = p.str("Type", required=True, choices=COMMAND_TYPES)
        content = p.str("CommandContent", required=True)
        encoding = p.str("ContentEncoding", default="PlainText", choices=["PlainText", "Base64"])
        keep = p.bool("KeepCommand")
        size = len(content) if encoding == "Base64" else b64len(content)
        if size > (18 if keep else 24) * 1024:
            raise error("CmdContent.ExceedLimit")
        if encoding == "Base64":
            try:
                content = base64.b64decode(content, validate=True).decode("utf-8")
            except ValueError:
                raise invalid("CommandContent", "It is not valid Base64.")
        parameters = p.json_object("Parameters") or {}
        if len(parameters) > 10:
            raise error("ParameterCount.ExceedLimit")
        enable = p.bool("EnableParameter")
        if parameters and not enable:
            raise error("Parameter.Disabled")
        declared = set(re.findall(r"\{\{\s*([A-Za-z0-9_.:-]+)\s*\}\}", content)) if enable else set()
        if set(parameters) - declared:
            raise error("Parameter.NotMatched")
        timeout = self._timeout(p)
        instance_ids = self._target_instances(p)
        tags = dict(p.tags())
        command = Command(id=self.new_id("c-"), name=p.str("Name", default="run-command"), type=ctype,
                          content=content, parameter_names=sorted(declared), enable_parameter=enable,
                          timeout=timeout)
        if keep:
            self.commands[command.id] = command
        invocation = self._start_invocation(command, render(content, parameters), parameters, timeout,
                                            instance_ids, tags)
        return {"CommandId": command.id, "InvokeId": invocation.id}

    @api
    def InvokeCommand(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        command_id = p.str("CommandId", required=True)
        command = self.commands.get(command_id) or next(
            (c for c in self.commands.values() if c.public and c.name == command_id), None)
        if command is None:
            raise error("InvalidCmdId.NotFound")
        parameters = p.json_object("Parameters") or {}
        if len(parameters) > 10:
            raise error("ParameterCount.ExceedLimit")
        # Names given must be declared ones; every declared one needs a value ("" is one).
        if set(parameters) - set(command.parameter_names):
            raise error("Parameter.NotMatched")
        if set(command.parameter_names) - set(parameters):
            raise error("Parameter.MissingValue")
        if b64len(command.content) + b64len(json.dumps(parameters)) > 18 * 1024:
            raise error("CmdContent.ExceedLimit")
        timeout = self._timeout(p, command.timeout)
        instance_ids = self._target_instances(p)
        tags = dict(p.tags())
        invocation = self._start_invocation(command, render(command.content, parameters), parameters,
                                            timeout, instance_ids, tags)
        return {"InvokeId": invocation.id}

    @api
    def SendFile(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        name = p.str("Name", required=True)
        target = p.str("TargetDir", required=True)
        content = p.str("Content", required=True)
        ctype = p.str("ContentType", default="PlainText", choices=["PlainText", "Base64"])
        size = len(content) if ctype == "Base64" else b64len(content)
        if size > 32 * 1024:
            raise error("FileContent.ExceedLimit")
        data = base64.b64decode(content) if ctype == "Base64" else content.encode("utf-8")
        timeout = self._timeout(p)
        instance_ids = self._target_instances(p)
        path = target.rstrip("/") + "/" + name
        command = Command(id="", name=name, type="SendFile", content="")
        invocation = self._start_invocation(command, "", {"path": path, "content": data,
                                                          "mode": p.str("FileMode", default="0644")},
                                            timeout, instance_ids, dict(p.tags()), kind="file")
        return {"InvokeId": invocation.id}

    def _invocation_list(self, p: Params) -> List[Invocation]:
        invoke_id, command_id, instance_id = p.str("InvokeId"), p.str("CommandId"), p.str("InstanceId")
        if invoke_id and invoke_id not in self.invocations:
            raise error("InvalidInvokeId.NotFound")
        return [inv for inv in self.invocations.values()
                if inv.kind == "command" and (not invoke_id or inv.id == invoke_id)
                and (not command_id or inv.command_id == command_id)
                and (not instance_id or any(r.instance_id == instance_id for r in inv.records))]

    @api
    def DescribeInvocations(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        encoding = p.str("ContentEncoding", default="Base64", choices=["PlainText", "Base64"])
        include_output = p.bool("IncludeOutput")
        status = p.str("InvokeStatus")
        found = [inv for inv in self._invocation_list(p) if not status or inv.status() == status]
        page, envelope = paginate(found, p, default_size=10, max_size=50, next_token=True)
        shapes = []
        for inv in page:
            overall = inv.status()
            instances = []
            for rec in inv.records:
                output, dropped = encode_output(rec.output if include_output else "", encoding)
                instances.append({
                    "InstanceId": rec.instance_id, "InvocationStatus": rec.invocation_status,
                    "InstanceInvokeStatus": RECORD_STATUS[rec.invocation_status],
                    "ExitCode": rec.exit_code if rec.exit_code is not None else 0,
                    "ErrorCode": rec.error_code, "ErrorInfo": rec.error_info, "Output": output,
                    "Dropped": dropped, "Repeats": 1, "Timed": False, "CreationTime": iso(inv.created),
                    "StartTime": iso(rec.start) if rec.start else "",
                    "FinishTime": iso(rec.finish) if rec.finish else "", "UpdateTime": iso(self.clock.now())})
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
        instance_id = p.str("InstanceId")
        record_status = p.str("InvokeRecordStatus")
        rows = [(inv, rec) for inv in self._invocation_list(p) for rec in inv.records
                if (not instance_id or rec.instance_id == instance_id)
                and (not record_status or RECORD_STATUS[rec.invocation_status] == record_status)]
        page, envelope = paginate(rows, p, default_size=10, max_size=50, next_token=True)
        results = []
        for inv, rec in page:
            output, dropped = encode_output(rec.output, encoding)
            results.append({
                "InvokeId": inv.id, "CommandId": inv.command_id, "InstanceId": rec.instance_id,
                "InvocationStatus": rec.invocation_status,
                "InvokeRecordStatus": RECORD_STATUS[rec.invocation_status],
                "ExitCode": rec.exit_code if rec.exit_code is not None else 0,
                "ErrorCode": rec.error_code, "ErrorInfo": rec.error_info, "Output": output,
                "Dropped": dropped, "Repeats": 1, "Username": "root",
                "StartTime": iso(rec.start) if rec.start else "",
                "FinishedTime": iso(rec.finish) if rec.finish else "",
                "StopTime": "", "Tags": {"Tag": []}})
        return {"Invocation": dict(envelope, InvocationResults={"InvocationResult": results})}
