"""The API's errors, as Step Functions sends them.

Every failure of a request becomes one ``ApiError``: AWS's error name
(``__type``), its message and its HTTP status. AWS JSON 1.0 answers
``{"__type": "InvalidArn", "message": "..."}``; botocore reads the name from
``__type`` and raises ``client.exceptions.InvalidArn``. Step Functions answers
every client error with status 400; only a failure of the server itself is a
500 (``InternalFailure``), and even then the body keeps AWS's shape and no
traceback leaves the process.
"""

from __future__ import annotations

from typing import Final

from engine.jsonvalue import JSON

CLIENT_ERROR: Final = 400
SERVER_ERROR: Final = 500


class ApiError(Exception):
    """One failed request.

    Args:
        code: AWS's error name, e.g. ``ExecutionDoesNotExist``.
        message: the message, worded as AWS words it.
        status: the HTTP status (400 for every client error).
        extra: more members of the error shape (``resourceName`` of ``ResourceNotFound``).
    """

    def __init__(self, code: str, message: str, status: int = CLIENT_ERROR, **extra: JSON) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra

    def body(self) -> dict[str, JSON]:
        """The JSON body: ``__type``, ``message`` and any extra members."""
        out: dict[str, JSON] = {"__type": self.code, "message": self.message}
        out.update(self.extra)
        return out


def validation(messages: list[str]) -> ApiError:
    """``ValidationException`` listing every constraint a request broke, in AWS's words."""
    n = len(messages)
    noun = "error" if n == 1 else "errors"
    return ApiError("ValidationException", f"{n} validation {noun} detected: " + "; ".join(messages))


def serialization(message: str) -> ApiError:
    """``SerializationException``: the body is not JSON, or a value has the wrong JSON type."""
    return ApiError("SerializationException", message)


def invalid_arn(arn: str, why: str) -> ApiError:
    return ApiError("InvalidArn", f"Invalid Arn: '{why}: {arn}'")


def internal() -> ApiError:
    return ApiError("InternalFailure", "The server encountered an internal error.", SERVER_ERROR)


def store_failure(exc: Exception) -> ApiError:
    """``InternalFailure`` for a durable store that refused a write (full disk, lost server)."""
    return ApiError("InternalFailure", f"The store cannot be written: {exc}", SERVER_ERROR)


__all__ = ["ApiError", "internal", "invalid_arn", "serialization", "store_failure", "validation"]
