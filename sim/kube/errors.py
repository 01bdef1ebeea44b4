"""Kubernetes ``Status`` errors.

Every failure the simulated API server reports is a :class:`KubeError` holding the
``Status`` object Kubernetes would send (kind, apiVersion, metadata, status,
message, reason, details, code). The helpers build the exact messages
kube-apiserver uses (``jobs.batch "x" not found``), because clients and the
Step Functions integration match on them.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

REASON_CODES: Final[dict[str, int]] = {
    "Unauthorized": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "AlreadyExists": 409,
    "Conflict": 409,
    "Gone": 410,
    "Expired": 410,
    "Invalid": 422,
    "BadRequest": 400,
    "MethodNotAllowed": 405,
    "NotAcceptable": 406,
    "RequestEntityTooLarge": 413,
    "UnsupportedMediaType": 415,
    "TooManyRequests": 429,
    "InternalError": 500,
    "ServiceUnavailable": 503,
    "Timeout": 504,
}


def status_object(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return a failure ``Status`` object (keys in kube-apiserver's order)."""
    status: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        status["details"] = details
    status["code"] = code
    return status


class KubeError(Exception):
    """An API error answered as a ``Status`` object.

    Args:
        reason: the Status reason (``NotFound``, ``Invalid``, ...).
        message: the human message, exactly as Kubernetes words it.
        details: the Status ``details`` (name, group, kind, causes, ...).
        code: the HTTP status; derived from ``reason`` when omitted.
        headers: extra response headers (``Retry-After``).
    """

    def __init__(
        self,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.details = details
        self.code = code if code is not None else REASON_CODES.get(reason, 500)
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        """The ``Status`` object of this error."""
        return status_object(self.code, self.reason, self.message, self.details)

    def body(self) -> bytes:
        """The ``Status`` object serialized as JSON."""
        return orjson.dumps(self.status())


UNAUTHORIZED_BODY: Final[bytes] = orjson.dumps(status_object(401, "Unauthorized", "Unauthorized"))


def qualified(resource: str, group: str) -> str:
    """``jobs.batch`` for a grouped resource, ``pods`` for the core group."""
    return f"{resource}.{group}" if group else resource


def not_found(group: str, resource: str, name: str) -> KubeError:
    """404 ``<resource>.<group> "<name>" not found``."""
    return KubeError(
        "NotFound",
        f'{qualified(resource, group)} "{name}" not found',
        {"name": name, "group": group, "kind": resource},
    )


def already_exists(group: str, resource: str, name: str) -> KubeError:
    """409 ``<resource>.<group> "<name>" already exists``."""
    return KubeError(
        "AlreadyExists",
        f'{qualified(resource, group)} "{name}" already exists',
        {"name": name, "group": group, "kind": resource},
    )


def conflict(group: str, resource: str, name: str, why: str) -> KubeError:
    """409 Conflict: ``Operation cannot be fulfilled on <resource>.<group> "<name>": <why>``."""
    return KubeError(
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {why}',
        {"name": name, "group": group, "kind": resource},
    )


def bad_request(message: str) -> KubeError:
    """400 BadRequest with ``message``."""
    return KubeError("BadRequest", message)


def gone(message: str) -> KubeError:
    """410 Expired (the resourceVersion or continue token is older than the kept history)."""
    return KubeError("Expired", message)


def too_large_resource_version(requested: int, current: int) -> KubeError:
    """504 for a watch or list from a resourceVersion the server has not reached (apimachinery's
    ``NewTooLargeResourceVersionError``: reason Timeout, a ``ResourceVersionTooLarge`` cause)."""
    return KubeError(
        "Timeout",
        f"Too large resource version: {requested}, current: {current}",
        {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
         "retryAfterSeconds": 1},
        code=504,
        headers={"Retry-After": "1"},
    )


def request_entity_too_large(limit: int) -> KubeError:
    """413 for a request body over kube-apiserver's limit."""
    return KubeError("RequestEntityTooLarge", f"Request entity too large: limit is {limit}", code=413)


def method_not_allowed(method: str) -> KubeError:
    """405 MethodNotAllowed."""
    return KubeError("MethodNotAllowed", "the server does not allow this method on the requested resource")


def forbidden(
    group: str, resource: str, subresource: str, name: str, namespace: str, user: str, verb: str
) -> KubeError:
    """403 with Kubernetes' RBAC message.

    ``jobs.batch "x" is forbidden: User "u" cannot get resource "jobs" in API group "batch" in the
    namespace "default"``.
    """
    full = f"{resource}/{subresource}" if subresource else resource
    subject = qualified(resource, group)
    prefix = f'{subject} "{name}"' if name else subject
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = (
        f'{prefix} is forbidden: User "{user}" cannot {verb} resource "{full}" in API group "{group}" {scope}'
    )
    details: dict[str, Any] = {"group": group, "kind": resource}
    if name:
        details = {"name": name, **details}
    return KubeError("Forbidden", message, details)


def forbidden_path(user: str, verb: str, path: str) -> KubeError:
    """403 for a non-resource URL."""
    return KubeError("Forbidden", f'forbidden: User "{user}" cannot {verb} path "{path}"', {})


def invalid(kind: str, group: str, name: str, causes: list[tuple[str, str, str]]) -> KubeError:
    """422 Invalid: ``Job.batch "x" is invalid: <field>: <message>[, ...]``.

    Args:
        kind: the object kind (``Job``).
        group: its API group.
        name: the object name (may be empty).
        causes: ``(reason, field, message)`` triples, e.g.
            ``("FieldValueRequired", "spec.template.spec.containers", "Required value")``.
    """
    subject = f"{kind}.{group}" if group else kind
    parts = [f"{field}: {message}" for _, field, message in causes]
    text = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return KubeError(
        "Invalid",
        f'{subject} "{name}" is invalid: {text}',
        {
            "name": name,
            "group": group,
            "kind": kind,
            "causes": [
                {"reason": reason, "message": message, "field": field} for reason, field, message in causes
            ],
        },
    )
