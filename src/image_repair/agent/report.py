"""The agent's JSON report; its schema is documented in docs/agent-report.md.

Kept deliberately small: the control plane reads it from Cloud Assistant's output, which is cut
at 24 KB, so findings are short sentences and diffs appear only in dry runs.
"""
import json

REPORT_VERSION = 1

OK = "ok"
REPAIRED = "repaired"
FAILED = "failed"
NOT_APPLICABLE = "not_applicable"
SKIPPED = "skipped"
STATUSES = (OK, REPAIRED, FAILED, NOT_APPLICABLE, SKIPPED)
GOOD_STATUSES = (OK, REPAIRED, NOT_APPLICABLE)


class ItemResult(object):
    def __init__(self, name, status, findings=None, changes=None, duration=0.0, error=None, risk=None):
        if status not in STATUSES:
            raise ValueError("unknown item status %r" % status)
        self.name = name
        self.status = status
        self.findings = list(findings or [])
        self.changes = changes
        self.duration = duration
        self.error = error
        self.risk = risk

    def to_dict(self):
        data = {
            "name": self.name,
            "status": self.status,
            "findings": self.findings,
            "changes": self.changes.to_dict() if self.changes is not None else
            {"files": [], "backups": [], "commands": []},
            "duration": round(self.duration, 3),
        }
        if self.risk:
            data["risk"] = self.risk
        if self.error:
            data["error"] = self.error
        return data


class Report(object):
    def __init__(self, mode, disk=None, layout=None, distribution=None):
        self.mode = mode  # "repair", "dry-run" or "check"
        self.disk = disk or {}
        self.layout = layout or {}
        self.distribution = distribution or {}
        self.items = []
        self.error = None
        self.duration = 0.0

    @property
    def exit_status(self):
        if self.error is not None:
            return self.error.get("exit_status", 1)
        if any(item.status == FAILED for item in self.items):
            return 1
        if self.mode == "check" and any(item.status == SKIPPED for item in self.items):
            return 1  # check-disk: an item at risk
        return 0

    def to_dict(self):
        data = {
            "version": REPORT_VERSION,
            "mode": self.mode,
            "disk": self.disk,
            "layout": self.layout,
            "distribution": self.distribution,
            "items": [item.to_dict() for item in self.items],
            "duration": round(self.duration, 3),
            "exit_status": self.exit_status,
        }
        if self.error is not None:
            data["error"] = self.error
        return data

    def to_json(self, indent=2):
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)
