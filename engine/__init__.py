"""statewright's engine: an asyncio Amazon States Language interpreter.

What ``__all__`` lists is the supported API; module names below it are not.
"""

from engine.definition.model import StateMachine
from engine.definition.parse import parse_definition
from engine.errors import (
    DataLimitExceeded,
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    InvalidDefinition,
    InvalidInput,
    Problem,
    StatesError,
    StatewrightError,
    TaskFailed,
)
from engine.executor import (
    ExecutionCleaner,
    ExecutionEnd,
    Executor,
    ExecutorCall,
    ExecutorContext,
    IntegrationPattern,
    ParameterChecker,
    ParameterProblem,
    ParameterReading,
    Parked,
    PolicyProvider,
    PolicyStatement,
    PolicyTarget,
    StaticParameters,
)
from engine.history import History, HistoryEvent
from engine.jsonvalue import JSON
from engine.persistence import InMemoryStore, Store
from engine.policy import GeneratedPolicy, UncoveredTask, policy_for
from engine.registry import ExecutorRegistry, UnknownResource, parse_resource
from engine.runtime.clock import Clock, LoopClock, SystemClock
from engine.runtime.engine import Engine, Execution, ExecutionResult
from engine.runtime.execution import ExecutionRecord, Position
from engine.size_guard import DEFAULT_LIMIT_BYTES, SizeGuard
from engine.testing import InvalidMockConfig, MockConfig, TestStateResult, TestStateValidation

__all__ = [
    "DEFAULT_LIMIT_BYTES",
    "JSON",
    "Clock",
    "DataLimitExceeded",
    "Engine",
    "Execution",
    "ExecutionAlreadyExists",
    "ExecutionCleaner",
    "ExecutionDoesNotExist",
    "ExecutionEnd",
    "ExecutionRecord",
    "ExecutionResult",
    "Executor",
    "ExecutorCall",
    "ExecutorContext",
    "ExecutorRegistry",
    "GeneratedPolicy",
    "History",
    "HistoryEvent",
    "InMemoryStore",
    "IntegrationPattern",
    "InvalidDefinition",
    "InvalidInput",
    "InvalidMockConfig",
    "LoopClock",
    "MockConfig",
    "ParameterChecker",
    "ParameterProblem",
    "ParameterReading",
    "Parked",
    "PolicyProvider",
    "PolicyStatement",
    "PolicyTarget",
    "Position",
    "Problem",
    "SizeGuard",
    "StateMachine",
    "StatesError",
    "StatewrightError",
    "StaticParameters",
    "Store",
    "SystemClock",
    "TaskFailed",
    "TestStateResult",
    "TestStateValidation",
    "UncoveredTask",
    "UnknownResource",
    "parse_definition",
    "parse_resource",
    "policy_for",
]
