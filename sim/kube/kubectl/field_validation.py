"""``fieldValidation=Strict|Warn``: refusing unknown fields of built-in kinds, as kubectl asks.

The OpenAPI documents (``discovery``) advertise the ``fieldValidation`` query
parameter, so kubectl leaves validation to the server and sends
``fieldValidation=Strict`` instead of validating on the client. This checks
the top-level and ``metadata`` fields of built-in kinds only; custom resources
and everything below the top level pass unchecked.
"""

from __future__ import annotations

from typing import Any, Final

from sim.kube.errors import bad_request
from sim.kube.objects import METADATA_ORDER
from sim.kube.resources import Catalog, ResourceInfo

CHECKED_GROUPS: Final = frozenset({"", "batch", "apps", "rbac.authorization.k8s.io"})
TOP_LEVEL_FIELDS: Final = frozenset(
    {
        "apiVersion",
        "kind",
        "metadata",
        "spec",
        "status",
        "data",
        "binaryData",
        "stringData",
        "type",
        "immutable",
        "rules",
        "subjects",
        "roleRef",
        "aggregationRule",
        "secrets",
        "imagePullSecrets",
        "automountServiceAccountToken",
        "involvedObject",
        "reason",
        "message",
        "source",
        "firstTimestamp",
        "lastTimestamp",
        "count",
        "eventTime",
        "series",
        "action",
        "related",
        "reportingComponent",
        "reportingInstance",
    }
)
METADATA_FIELDS: Final = frozenset((*METADATA_ORDER, "selfLink"))


def check_fields(catalog: Catalog, info: ResourceInfo, body: Any, directive: str | None) -> Any:
    """``body`` itself, or 400 when ``directive`` is Strict and a checked field is unknown."""
    if not directive or directive == "Ignore" or not isinstance(body, dict):
        return body
    if directive not in ("Strict", "Warn"):
        raise bad_request(f'fieldValidation must be one of "Ignore", "Warn" or "Strict", not "{directive}"')
    if catalog.lookup(info.group, info.version, info.resource) is None or info.group not in CHECKED_GROUPS:
        return body
    unknown = [f'unknown field "{k}"' for k in body if k not in TOP_LEVEL_FIELDS]
    metadata = body.get("metadata")
    if isinstance(metadata, dict):
        unknown.extend(f'unknown field "metadata.{k}"' for k in metadata if k not in METADATA_FIELDS)
    if unknown and directive == "Strict":
        raise bad_request(f"strict decoding error: {', '.join(unknown)}")
    return body
