"""The local CloudFlow (spec v1) runner: load and validate a definition, run it with Python
handlers mapped by function name, on a real or virtual clock, keeping a history. See docs/flow.md."""
from .clock import RealClock, VirtualClock
from .definition import function_name_of, load_definition_file, parse_definition
from .states import FlowDefinition
from .errors import DefinitionError, ExecutionFailed, ExpressionError, StateError
from .runner import MAX_DATA_BYTES, ExecutionResult, FlowRunner, FunctionKilled, HistoryEvent

__all__ = ["RealClock", "VirtualClock", "FlowDefinition", "function_name_of", "load_definition_file",
           "parse_definition", "DefinitionError", "ExecutionFailed", "ExpressionError", "StateError",
           "MAX_DATA_BYTES", "ExecutionResult", "FlowRunner", "FunctionKilled", "HistoryEvent"]
