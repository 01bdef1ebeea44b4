"""``eks:call``: one Kubernetes REST request, confined to the cluster's endpoint.

The state names a method, a path, query parameters and an optional body; the
request goes to ``Endpoint`` with an EKS bearer token and TLS verified against
``CertificateAuthority``, through the pooled session of ``KubeClient``'s raw
path. The answer comes back as Step Functions gives it (spec §5.2):
``{"ResponseBody": …, "StatusCode": …, "StatusText": …}`` — no headers
(UNCONFIRMED, spec §5.2: not documented as returned). A non-2xx answer is
``EKS.<status>`` with the JSON cause of spec §5.3.

``Path`` may only name a path on that endpoint: a URL, a scheme, ``//host``,
``.``/``..`` segments (also percent-encoded), backslashes, a query or a
fragment are refused before any request, both when the definition is checked
(a literal Path) and at run time.

Request-response only: there is no ``eks:call.sync`` (spec §1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from engine.errors import TaskFailed
from engine.executor import (
    ExecutorCall,
    ExecutorContext,
    IntegrationPattern,
    ParameterProblem,
    ParameterReading,
    StaticParameters,
)
from engine.jsonvalue import JSON, JSONDecodeError, loads
from executors.eks.fields import (
    CLUSTER_FIELDS,
    FieldRule,
    check_static,
    parameter_error,
    runtime_parameters,
    string_list_map_rule,
    string_rule,
)
from executors.eks.kube import check_api_path
from executors.eks.services import EksServices

METHODS: Final = ("GET", "POST", "PUT", "DELETE", "HEAD", "PATCH")
BODYLESS_METHODS: Final = frozenset({"GET", "HEAD"})
JSON_TYPE: Final = "application/json"
MERGE_PATCH_TYPE: Final = "application/merge-patch+json"
JSON_PATCH_TYPE: Final = "application/json-patch+json"
YAML_TYPE: Final = "application/yaml"
APPLY_PATCH_TYPE: Final = "application/apply-patch+yaml"


def _method_rule(path: tuple[str, ...], value: JSON, reading: ParameterReading) -> list[ParameterProblem]:
    if value not in METHODS:
        message = f'The value for the field "Method" must be one of {", ".join(METHODS)}'
        return [ParameterProblem(path, message)]
    return []


def _path_rule(path: tuple[str, ...], value: JSON, reading: ParameterReading) -> list[ParameterProblem]:
    problems = string_rule(path, value, reading)
    if problems:
        return problems
    problem = check_api_path(str(value))
    return [ParameterProblem(path, problem)] if problem is not None else []


def _body_rule(path: tuple[str, ...], value: JSON, reading: ParameterReading) -> list[ParameterProblem]:
    # Any JSON value or a string: nothing to refuse on its own (see the Method check).
    return []


FIELDS: Final[Mapping[str, FieldRule]] = {
    **CLUSTER_FIELDS,
    "Method": _method_rule,
    "Path": _path_rule,
    "QueryParameters": string_list_map_rule(),
    "RequestBody": _body_rule,
}
REQUIRED: Final = ("ClusterName", "CertificateAuthority", "Endpoint", "Method", "Path")


def _cross_field_problems(known: Mapping[str, JSON]) -> list[ParameterProblem]:
    method = known.get("Method")
    # A Method of the wrong type (a list, an object) has its own problem; it is no bodyless verb.
    if isinstance(method, str) and method in BODYLESS_METHODS and "RequestBody" in known and known["RequestBody"] is not None:
        return [ParameterProblem(("RequestBody",), f"A {method} request cannot carry a RequestBody")]
    return []


def check_parameters(pattern: IntegrationPattern, parameters: StaticParameters) -> list[ParameterProblem]:
    """Problems visible in an eks:call state's Parameters before anything runs.

    Args:
        pattern: the integration pattern (only request-response exists for eks:call).
        parameters: the literal and dynamic top-level fields.
    """
    problems = check_static(FIELDS, REQUIRED, parameters)
    if parameters.dynamic is not None:
        problems += _cross_field_problems(parameters.known)
    return problems


def content_type_for(method: str, body: JSON | str) -> str:
    """The media type an eks:call body is sent with.

    UNCONFIRMED (spec §5.1): JSON for POST/PUT/DELETE; for PATCH a JSON array is a
    JSON Patch and an object a merge patch. A string that is not JSON is taken as
    YAML (server-side apply for PATCH).
    """
    document: JSON = body
    if isinstance(body, str):
        try:
            document = loads(body)
        except JSONDecodeError:
            return APPLY_PATCH_TYPE if method == "PATCH" else YAML_TYPE
    if method == "PATCH":
        return JSON_PATCH_TYPE if isinstance(document, list) else MERGE_PATCH_TYPE
    return JSON_TYPE


async def eks_call(call: ExecutorCall, ctx: ExecutorContext, services: EksServices) -> JSON:
    """Run ``eks:call``.

    Args:
        call: the resolved call; ``call.parameters`` holds ClusterName,
            CertificateAuthority, Endpoint, Method, Path, QueryParameters and RequestBody.
        ctx: the executor context.
        services: the engine's shared EKS plumbing.

    Returns:
        ``{"ResponseBody": <parsed JSON or text>, "StatusCode": n, "StatusText": "…"}``;
        no ``ResponseBody`` for HEAD or an empty body.

    Raises:
        StatesError: ``States.Runtime`` for invalid parameters (including a Path
            outside the endpoint), ``EKS.<status>`` for a non-2xx answer,
            ``States.TaskFailed`` when the API server cannot be reached.
    """
    if call.pattern is not IntegrationPattern.REQUEST_RESPONSE:
        raise TaskFailed(None, f"eks:call does not support {call.pattern.suffix}")
    params = runtime_parameters(ctx, FIELDS, REQUIRED, call.parameters)
    cross = _cross_field_problems(params)
    if cross:
        raise parameter_error(ctx, [p.message for p in cross])
    method = str(params["Method"])
    body: JSON | str | None = params.get("RequestBody")
    client = services.kube_client(params)
    response = await client.request(
        method,
        str(params["Path"]),
        query=params.get("QueryParameters"),
        body=body,
        content_type=content_type_for(method, body) if body is not None else None,
    )
    output: dict[str, JSON] = {}
    # UNCONFIRMED (spec §5.2, §14 item 17): HEAD and empty answers carry no ResponseBody.
    value = response.value()
    if value is not None:
        output["ResponseBody"] = value
    output["StatusCode"] = response.status
    output["StatusText"] = response.reason
    return output


__all__ = ["FIELDS", "METHODS", "REQUIRED", "check_parameters", "content_type_for", "eks_call"]
