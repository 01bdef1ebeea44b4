"""The engine's exceptions.

The tree, at a glance::

    StatewrightError
    ├── InvalidDefinition          a definition AWS would refuse; lists every Problem
    ├── InvalidInput               execution input that is not JSON or too large
    ├── ExecutionAlreadyExists     a running execution already has that name
    ├── ExecutionDoesNotExist
    └── StatesError(error, cause)  an ASL runtime error, matched by Retry/Catch by name
        ├── TaskFailed             States.TaskFailed, or any error name a task raises
        ├── StatesTimeout          States.Timeout
        ├── HeartbeatTimeout       States.HeartbeatTimeout
        ├── StatesRuntime          States.Runtime
        ├── ResultPathMatchFailure States.ResultPathMatchFailure
        ├── IntrinsicFailure       States.IntrinsicFailure
        ├── NoChoiceMatched        States.NoChoiceMatched
        ├── ExceedToleratedFailureThreshold
        ├── DataLimitExceeded      States.DataLimitExceeded (not caught by States.ALL)
        └── QueryEvaluationError   States.QueryEvaluationError (JSONata)

``InvalidDefinition`` sits outside ``StatesError`` on purpose: a definition
problem is never something Retry or Catch may match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

ALL: Final = "States.ALL"
TASK_FAILED: Final = "States.TaskFailed"
TIMEOUT: Final = "States.Timeout"
HEARTBEAT_TIMEOUT: Final = "States.HeartbeatTimeout"
RUNTIME: Final = "States.Runtime"
RESULT_PATH_MATCH_FAILURE: Final = "States.ResultPathMatchFailure"
INTRINSIC_FAILURE: Final = "States.IntrinsicFailure"
NO_CHOICE_MATCHED: Final = "States.NoChoiceMatched"
EXCEED_TOLERATED_FAILURE_THRESHOLD: Final = "States.ExceedToleratedFailureThreshold"
DATA_LIMIT_EXCEEDED: Final = "States.DataLimitExceeded"
QUERY_EVALUATION_ERROR: Final = "States.QueryEvaluationError"


class StatewrightError(Exception):
    """Base of every exception the engine raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a definition.

    Attributes:
        location: a JSON Pointer into the definition, e.g. ``/States/Run job/Retry/0/MaxAttempts``.
        code: a short stable code, e.g. ``MISSING_FIELD``, for tools and tests.
        message: what is wrong, for people.
    """

    location: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.location or '/'}: {self.message} [{self.code}]"


class InvalidDefinition(StatewrightError):
    """A definition that AWS would refuse to create, with every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        n = len(self.problems)
        super().__init__(f"invalid state machine definition ({n} problem{'' if n == 1 else 's'}):\n{lines}")


class InvalidInput(StatewrightError):
    """Execution input that is not valid JSON or exceeds the size limit."""


class ExecutionAlreadyExists(StatewrightError):
    """An execution with that name already exists for the state machine."""


class ExecutionDoesNotExist(StatewrightError):
    """No execution has that name or ARN."""


class StatesError(StatewrightError):
    """A runtime error in ASL terms: an error name and a cause.

    Retry and Catch match on ``error`` exactly as AWS does. Subclasses exist
    for the predefined ``States.*`` names so code can ``except`` them; any
    other name (``EKS.404``, ``MyError``) is a plain ``StatesError``.
    """

    default_error: ClassVar[str] = TASK_FAILED

    def __init__(self, error: str | None = None, cause: str | None = None) -> None:
        self.error: str = error if error is not None else self.default_error
        self.cause: str | None = cause
        #: When true, the runtime prefixes the cause with AWS's
        #: "An error occurred while executing the state 'X' (entered at the event id #N). "
        self.state_scoped: bool = False
        super().__init__(f"{self.error}: {cause}" if cause else self.error)

    def scoped(self) -> StatesError:
        """Mark this error as raised while evaluating a state's own fields."""
        self.state_scoped = True
        return self


class TaskFailed(StatesError):
    default_error = TASK_FAILED


class StatesTimeout(StatesError):
    default_error = TIMEOUT


class HeartbeatTimeout(StatesError):
    default_error = HEARTBEAT_TIMEOUT


class StatesRuntime(StatesError):
    default_error = RUNTIME



class ResultPathMatchFailure(StatesError):
    default_error = RESULT_PATH_MATCH_FAILURE


class IntrinsicFailure(StatesError):
    default_error = INTRINSIC_FAILURE


class NoChoiceMatched(StatesError):
    default_error = NO_CHOICE_MATCHED



class ExceedToleratedFailureThreshold(StatesError):
    default_error = EXCEED_TOLERATED_FAILURE_THRESHOLD


class DataLimitExceeded(StatesError):
    """A payload over the size limit; ``engine.size_guard`` raises it and words its cause.

    Attributes:
        size: the payload's size in bytes, when known.
        limit: the limit it exceeded, when known.
    """

    default_error = DATA_LIMIT_EXCEEDED

    def __init__(
        self,
        error: str | None = None,
        cause: str | None = None,
        *,
        size: int | None = None,
        limit: int | None = None,
    ) -> None:
        super().__init__(error, cause)
        self.size = size
        self.limit = limit



class QueryEvaluationError(StatesError):
    """A JSONata expression failed.

    Attributes:
        evaluation_recorded: its ``EvaluationFailed`` event is in the history
            already (a Map records it before ``MapStateFailed``), so the state
            loop must not record it again.
    """

    default_error = QUERY_EVALUATION_ERROR
    evaluation_recorded: bool = False
