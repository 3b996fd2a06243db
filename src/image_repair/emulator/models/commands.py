"""Cloud Assistant: the agent's status, RunCommand, InvokeCommand, SendFile and invocations.

An invocation record is Pending while being delivered, Running while the command runs, then
Finished as Success, Failed or Timeout. What a command does is decided when it starts: an
injected fault, then ``backend.command_handlers`` (the disk-backed mode plugs in here; a handler
may answer RUNNING and call ``finish_record`` when its background run ends), then the command's
seeded behaviour (exit code, output, run time), else exit 0 with no output.
"""
import base64
import json
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from ..errors import error
from ..resources import Command, Instance, Invocation, InvocationRecord
from . import operation, tag_dict

RUNNING = object()  # a command handler's answer: started in the background, finish_record follows
COMMAND_TYPES = ["RunShellScript", "RunPythonScript", "RunPerlScript", "RunBatScript", "RunPowerShellScript"]
# InvocationStatus -> InvokeRecordStatus
RECORD_STATUS = {"Pending": "Pending", "Running": "Running", "Success": "Finished",
                 "Failed": "Failed", "Timeout": "Failed"}
_PARAMETER = re.compile(r"\{\{\s*([A-Za-z0-9_.:-]+)\s*\}\}")


def b64len(data) -> int:
    """Length after base64, the unit of Cloud Assistant's size limits."""
    return len(base64.b64encode(data.encode("utf-8") if isinstance(data, str) else data))


def render(content: str, parameters: dict) -> str:
    return _PARAMETER.sub(lambda m: str(parameters.get(m.group(1), m.group(0))), content)


@dataclass
class AssistantStatus:
    """DescribeCloudAssistantStatus' view of one instance."""
    instance: Instance
    running: bool
    invocation_count: int


class CommandBackend:

    # --- rules shared by the three invoking operations ----------------------------------------
    def _target_instances(self, instance_ids: Sequence[str]) -> List[str]:
        if len(instance_ids) > 100:
            raise error("InstanceIds.ExceedLimit")
        for instance_id in instance_ids:
            inst = self.instances.get(instance_id)
            if inst is None:
                raise error("InvalidInstance.NotFound")
            if inst.status != "Running":
                raise error("InvalidInstance.NotRunning")
        return list(instance_ids)

    @staticmethod
    def _check_timeout(timeout: int) -> int:
        if not 10 <= timeout <= 86400:
            raise error("InvalidTimeout", "Timeout must be 10-86400 seconds.")
        return timeout

    @staticmethod
    def _check_parameter_count(parameters: dict) -> None:
        if len(parameters) > 10:
            raise error("ParameterCount.ExceedLimit")

    # --- operations ------------------------------------------------------------------------------
    @operation
    def describe_cloud_assistant_status(self, instance_ids: Sequence[str] = ()) -> List[AssistantStatus]:
        found = [i for i in self.instances.values() if not instance_ids or i.id in instance_ids]
        return [AssistantStatus(inst, inst.status == "Running" and inst.cloud_assistant
                                and inst.id not in self.faults.assistant_down,
                                sum(1 for inv in self.invocations.values() for r in inv.records
                                    if r.instance_id == inst.id))
                for inst in found]

    @operation
    def run_command(self, instance_ids: Sequence[str], command_type: str, content: str,
                    parameters: Optional[Dict[str, str]] = None, enable_parameter: bool = False,
                    keep_command: bool = False, name: str = "run-command", timeout: int = 60,
                    tags: Optional[Dict[str, str]] = None) -> Tuple[Command, Invocation]:
        """Run ``content`` (plain text; at most 24 KB after base64, 18 KB when kept) with its
        ``{{parameters}}`` filled in; a kept command (``keep_command``) can be invoked again."""
        if b64len(content) > (18 if keep_command else 24) * 1024:
            raise error("CmdContent.ExceedLimit")
        parameters = dict(parameters or {})
        self._check_parameter_count(parameters)
        if parameters and not enable_parameter:
            raise error("Parameter.Disabled")
        declared = set(_PARAMETER.findall(content)) if enable_parameter else set()
        if set(parameters) - declared:
            raise error("Parameter.NotMatched")
        self._check_timeout(timeout)
        instance_ids = self._target_instances(instance_ids)
        tags = tag_dict(tags)
        command = Command(id=self.new_id("c-"), name=name, type=command_type, content=content,
                          parameter_names=sorted(declared), enable_parameter=enable_parameter, timeout=timeout)
        if keep_command:
            self.commands[command.id] = command
        invocation = self._start_invocation(command, render(content, parameters), parameters, timeout,
                                            instance_ids, tags)
        return command, invocation

    @operation
    def invoke_command(self, command_id: str, instance_ids: Sequence[str],
                       parameters: Optional[Dict[str, str]] = None, timeout: Optional[int] = None,
                       tags: Optional[Dict[str, str]] = None) -> Invocation:
        """Run a kept command (by ID) or a public one (by name); every parameter it declares
        needs a value, and only those; ``timeout`` defaults to the command's."""
        command = self.commands.get(command_id) or next(
            (c for c in self.commands.values() if c.public and c.name == command_id), None)
        if command is None:
            raise error("InvalidCmdId.NotFound")
        parameters = dict(parameters or {})
        self._check_parameter_count(parameters)
        # Names given must be declared ones; every declared one needs a value ("" is one).
        if set(parameters) - set(command.parameter_names):
            raise error("Parameter.NotMatched")
        if set(command.parameter_names) - set(parameters):
            raise error("Parameter.MissingValue")
        if b64len(command.content) + b64len(json.dumps(parameters)) > 18 * 1024:
            raise error("CmdContent.ExceedLimit")
        timeout = command.timeout if timeout is None else self._check_timeout(timeout)
        instance_ids = self._target_instances(instance_ids)
        return self._start_invocation(command, render(command.content, parameters), parameters,
                                      timeout, instance_ids, tag_dict(tags))

    @operation
    def send_file(self, instance_ids: Sequence[str], name: str, target_dir: str, content: bytes,
                  mode: str = "0644", timeout: int = 60, tags: Optional[Dict[str, str]] = None) -> Invocation:
        """Deliver a file (at most 32 KB after base64) to ``target_dir/name`` on each instance;
        it lands in ``instance.files`` once the delivery runs."""
        if b64len(content) > 32 * 1024:
            raise error("FileContent.ExceedLimit")
        self._check_timeout(timeout)
        instance_ids = self._target_instances(instance_ids)
        path = target_dir.rstrip("/") + "/" + name
        command = Command(id="", name=name, type="SendFile", content="")
        return self._start_invocation(command, "", {"path": path, "content": content, "mode": mode},
                                      timeout, instance_ids, tag_dict(tags), kind="file")

    @operation
    def describe_invocations(self, invoke_id: Optional[str] = None, command_id: Optional[str] = None,
                             instance_id: Optional[str] = None, status: Optional[str] = None) -> List[Invocation]:
        """Command invocations (not file deliveries); ``status`` is the overall InvocationStatus."""
        return [inv for inv in self._invocation_list(invoke_id, command_id, instance_id)
                if not status or inv.status() == status]

    @operation
    def describe_invocation_results(self, invoke_id: Optional[str] = None, command_id: Optional[str] = None,
                                    instance_id: Optional[str] = None, record_status: Optional[str] = None
                                    ) -> List[Tuple[Invocation, InvocationRecord]]:
        """One row per instance's record; ``record_status`` is its InvokeRecordStatus."""
        return [(inv, rec) for inv in self._invocation_list(invoke_id, command_id, instance_id) for rec in inv.records
                if (not instance_id or rec.instance_id == instance_id)
                and (not record_status or RECORD_STATUS[rec.invocation_status] == record_status)]

    def _invocation_list(self, invoke_id: Optional[str], command_id: Optional[str],
                         instance_id: Optional[str]) -> List[Invocation]:
        if invoke_id and invoke_id not in self.invocations:
            raise error("InvalidInvokeId.NotFound")
        return [inv for inv in self.invocations.values()
                if inv.kind == "command" and (not invoke_id or inv.id == invoke_id)
                and (not command_id or inv.command_id == command_id)
                and (not instance_id or any(r.instance_id == instance_id for r in inv.records))]

    # --- running an invocation -------------------------------------------------------------------
    def _start_invocation(self, command: Command, content: str, parameters: dict, timeout: int,
                          instance_ids: List[str], tags: dict, kind: str = "command") -> Invocation:
        invoke_id = self.new_id("t-")
        invocation = Invocation(id=invoke_id, command_id=command.id, command_name=command.name,
                                command_type=command.type, content=content, parameters=parameters,
                                timeout=timeout, created=self.clock.now(), kind=kind, tags=tags)
        for instance_id in instance_ids:
            # The Running stay is a placeholder: the run time is decided when the command starts.
            progress = self.new_progress("invocation.run", [self.latency.invocation_delivery, 0.0], invoke_id)
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
