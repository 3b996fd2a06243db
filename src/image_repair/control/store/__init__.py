"""The state store: executions, per-step idempotency records, per-image locks.

``open_store()`` builds the configured adapter (SQLite by default, Tablestore in the cloud); see
docs/store.md. Backends are imported on demand: loading this package never loads the Tablestore SDK.
"""
from .base import StateStore, StepClaim, StoredRow, record_key
from .models import (NEVER_MS, ConcurrentUpdate, Execution, ExecutionNotFound, ExecutionStatus, Lock, LockHeld,
                     StepClaimLost, StepInProgress, StepPayloadMismatch, StepRecord, StepResult, StepStatus,
                     StoreConfigError, StoreError, StoreUnavailable)
from .settings import StoreSettings, open_store, store_settings_from_env

__all__ = [
    "StateStore", "StepClaim", "StoredRow", "record_key", "NEVER_MS", "ConcurrentUpdate", "Execution",
    "ExecutionNotFound", "ExecutionStatus", "Lock", "LockHeld", "StepClaimLost", "StepInProgress",
    "StepPayloadMismatch", "StepRecord", "StepResult", "StepStatus", "StoreConfigError", "StoreError",
    "StoreUnavailable", "StoreSettings", "open_store", "store_settings_from_env",
]
