"""statewright: run AWS Step Functions (ASL) workflows that drive Amazon EKS, in one asyncio process.

``from statewright import Engine`` is the way in; the names below are the
supported API (the same objects the ``engine`` and ``executors`` packages
export).
"""

from engine import (
    Engine,
    Execution,
    ExecutionResult,
    ExecutorCall,
    ExecutorContext,
    ExecutorRegistry,
    InMemoryStore,
    IntegrationPattern,
    InvalidDefinition,
    InvalidInput,
    InvalidMockConfig,
    LoopClock,
    MockConfig,
    StatesError,
    SystemClock,
    TestStateResult,
    TestStateValidation,
    parse_definition,
    policy_for,
)
from executors.local import CallableExecutor, LambdaExecutor, lambda_executor

__all__ = [
    "CallableExecutor",
    "Engine",
    "Execution",
    "ExecutionResult",
    "ExecutorCall",
    "ExecutorContext",
    "ExecutorRegistry",
    "InMemoryStore",
    "IntegrationPattern",
    "InvalidDefinition",
    "InvalidInput",
    "InvalidMockConfig",
    "LambdaExecutor",
    "LoopClock",
    "MockConfig",
    "StatesError",
    "SystemClock",
    "TestStateResult",
    "TestStateValidation",
    "lambda_executor",
    "parse_definition",
    "policy_for",
]
