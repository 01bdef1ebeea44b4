"""EKS parameter checks read a Task's values by its query language, at validate time and at run time.

In a JSONPath state a ``"{% … %}"`` string is a plain string, checked as any
other (only ``.$`` keys are computed); in a JSONata state such strings, at any
depth, are expressions: skipped when the definition is checked, their values
checked once evaluated. At run time every resolved value is checked, whatever
it looks like.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import Engine, ExecutorRegistry, InvalidDefinition, parse_definition
from engine.errors import StatesRuntime
from engine.executor import ExecutorContext, IntegrationPattern, static_parameters
from executors.eks import EksExecutor, register
from executors.eks.call import FIELDS, REQUIRED
from executors.eks.call import check_parameters as check_call
from executors.eks.fields import runtime_parameters
from tests.support.eks import DEFAULT_TOKEN, CountingKube, StaticTokens, services_with

CALL = "arn:aws:states:::eks:call"
RUN_JOB = "arn:aws:states:::eks:runJob"
CREATE_CLUSTER = "arn:aws:states:::eks:createCluster"
CLUSTER = {"ClusterName": "demo", "CertificateAuthority": "Y2E=", "Endpoint": "https://127.0.0.1:9"}
CALL_PARAMS = {**CLUSTER, "Method": "GET", "Path": "/api/v1/namespaces"}
JOB = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}}
METHOD_MESSAGE = 'The value for the field "Method" must be one of GET, POST, PUT, DELETE, HEAD, PATCH'
CTX = ExecutorContext(execution_arn="arn:exec", execution_name="run", state_machine_arn="arn:sm", state_name="C")


def registry() -> ExecutorRegistry:
    reg = ExecutorRegistry()
    register(reg, EksExecutor(services_with(StaticTokens())))
    return reg


def machine(resource: str, params: dict[str, Any], *, jsonata: bool) -> dict[str, Any]:
    state = {"Type": "Task", "Resource": resource, "Arguments" if jsonata else "Parameters": params, "End": True}
    top: dict[str, Any] = {"StartAt": "C", "States": {"C": state}}
    if jsonata:
        top["QueryLanguage"] = "JSONata"
    return top


def problems(definition: dict[str, Any]) -> dict[str, str]:
    try:
        parse_definition(definition, registry=registry())
    except InvalidDefinition as exc:
        return {p.location: p.message for p in exc.problems}
    return {}


# --- validate time ------------------------------------------------------------------------------


def test_a_jsonata_looking_method_in_a_jsonpath_state_fails_the_check_as_any_bad_method() -> None:
    bad = problems(machine(CALL, {**CALL_PARAMS, "Method": "FETCH"}, jsonata=False))
    looking = problems(machine(CALL, {**CALL_PARAMS, "Method": "{% $states.input %}"}, jsonata=False))
    assert looking == bad == {"/States/C/Parameters/Method": METHOD_MESSAGE}


@pytest.mark.parametrize(
    ("resource", "params", "location", "message"),
    [
        (
            CALL,
            {**CALL_PARAMS, "QueryParameters": {"labelSelector": "{% $x %}"}},
            "/States/C/Parameters/QueryParameters/labelSelector",
            'The value for the field "labelSelector" must be a list of STRING',
        ),
        (
            RUN_JOB,
            {**CLUSTER, "Job": JOB, "LogOptions": {"RetrieveLogs": "{% $x %}"}},
            "/States/C/Parameters/LogOptions/RetrieveLogs",
            'The value for the field "RetrieveLogs" must be a BOOLEAN',
        ),
        (
            CREATE_CLUSTER,
            {"Name": "n", "RoleArn": "r", "ResourcesVpcConfig": {"SubnetIds": ["s"], "EndpointPublicAccess": "{% $x %}"}},
            "/States/C/Parameters/ResourcesVpcConfig/EndpointPublicAccess",
            'The value for the field "EndpointPublicAccess" must be a BOOLEAN',
        ),
    ],
)
def test_nested_jsonata_looking_values_of_a_jsonpath_state_are_checked_as_plain_strings(
    resource: str, params: dict[str, Any], location: str, message: str
) -> None:
    assert problems(machine(resource, params, jsonata=False)) == {location: message}


@pytest.mark.parametrize(
    ("resource", "params"),
    [
        (CALL, {**CALL_PARAMS, "Method": "{% $states.input.m %}"}),
        (CALL, {**CALL_PARAMS, "QueryParameters": {"labelSelector": "{% $x %}", "limit": ["{% $n %}"]}}),
        (CALL, {**CALL_PARAMS, "QueryParameters": "{% $q %}"}),
        (RUN_JOB, {**CLUSTER, "Job": "{% $job %}", "LogOptions": {"RetrieveLogs": "{% $x %}"}}),
        (
            CREATE_CLUSTER,
            {
                "Name": "{% $n %}",
                "RoleArn": "r",
                "ResourcesVpcConfig": {"SubnetIds": ["{% $s %}"], "EndpointPublicAccess": "{% $x %}"},
                "Logging": {"ClusterLogging": ["{% $logging %}"]},
            },
        ),
    ],
)
def test_jsonata_values_of_a_jsonata_state_stay_expressions_at_any_depth(
    resource: str, params: dict[str, Any]
) -> None:
    assert problems(machine(resource, params, jsonata=True)) == {}


def test_literal_problems_beside_jsonata_values_are_still_reported_in_a_jsonata_state() -> None:
    params = {**CALL_PARAMS, "Method": "FETCH", "QueryParameters": {"a": "{% $x %}", "b": [1]}}
    assert problems(machine(CALL, params, jsonata=True)) == {
        "/States/C/Arguments/Method": METHOD_MESSAGE,
        "/States/C/Arguments/QueryParameters/b": 'The value for the field "b" must be a list of STRING',
    }


# --- run time -----------------------------------------------------------------------------------


@pytest.fixture
async def kube() -> AsyncIterator[CountingKube]:
    async with CountingKube(static_tokens={DEFAULT_TOKEN: "admin"}) as simulator:
        yield simulator


async def run(definition: dict[str, Any], value: Any) -> Any:
    async with Engine(load_plugins=False, registry=registry()) as engine:
        return await engine.run(definition, value)


async def test_a_jsonpath_state_resolving_a_jsonata_looking_method_fails_with_states_runtime() -> None:
    params = {**CLUSTER, "Method.$": "$.m", "Path": "/api/v1/namespaces"}
    result = await run(machine(CALL, params, jsonata=False), {"m": "{% $states.input %}"})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert METHOD_MESSAGE in result.cause


async def test_a_jsonpath_state_resolving_a_nested_jsonata_looking_value_fails_with_states_runtime() -> None:
    params = {**CLUSTER, "Job": JOB, "LogOptions.$": "$.logs"}
    result = await run(machine(RUN_JOB + ".sync", params, jsonata=False), {"logs": {"RetrieveLogs": "{% true %}"}})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert 'The value for the field "RetrieveLogs" must be a BOOLEAN' in result.cause


async def test_a_jsonata_expression_evaluating_to_a_jsonata_looking_string_is_checked_as_that_string() -> None:
    params = {**CALL_PARAMS, "Method": "{% $states.input.m %}"}
    result = await run(machine(CALL, params, jsonata=True), {"m": "{% 'GET' %}"})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert METHOD_MESSAGE in result.cause


async def test_a_nested_jsonata_expression_is_evaluated_then_checked(kube: CountingKube) -> None:
    target = {"ClusterName": "demo", "CertificateAuthority": kube.ca_b64, "Endpoint": kube.url}
    params = {
        **target,
        "Method": "{% $states.input.method %}",
        "Path": "/api/v1/namespaces/default/pods",
        "QueryParameters": {"labelSelector": ["{% $states.input.selector %}"]},
    }
    definition = machine(CALL, params, jsonata=True)
    bad = await run(definition, {"method": "GET", "selector": 5})
    assert (bad.status, bad.error) == ("FAILED", "States.Runtime")
    assert 'The value for the field "labelSelector" must be a list of STRING' in bad.cause
    assert kube.requests == []
    good = await run(definition, {"method": "GET", "selector": "job-name=x"})
    assert good.status == "SUCCEEDED", (good.error, good.cause)
    assert good.output["StatusCode"] == 200
    assert kube.requests[-1] == ("GET", "/api/v1/namespaces/default/pods", {"labelSelector": "job-name=x"})


# --- properties ---------------------------------------------------------------------------------

TEMPLATE = st.sampled_from(["{% $x %}", "{% $states.input %}", "{%%}", "{% 1 %}"])
STRINGS = st.one_of(st.text(max_size=5), TEMPLATE)
VALUES: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 3), STRINGS),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=8,
)
QUERY = st.dictionaries(
    st.sampled_from(["labelSelector", "limit", "watch"]),
    st.one_of(STRINGS, st.lists(st.one_of(STRINGS, st.integers(0, 2)), max_size=3)),
    max_size=3,
)
CALL_VALUES = st.fixed_dictionaries(
    {},
    optional={
        "ClusterName": st.one_of(STRINGS, VALUES),
        "CertificateAuthority": STRINGS,
        "Endpoint": STRINGS,
        "Method": st.one_of(st.sampled_from(["GET", "HEAD", "PATCH", "get"]), TEMPLATE, VALUES),
        "Path": st.one_of(st.sampled_from(["/api/v1/pods", "/../etc", "http://x/"]), TEMPLATE),
        "QueryParameters": st.one_of(QUERY, TEMPLATE, VALUES),
        "RequestBody": VALUES,
    },
)


def runtime_messages(params: dict[str, Any]) -> set[str]:
    try:
        runtime_parameters(CTX, FIELDS, REQUIRED, params)
    except StatesRuntime as exc:
        listed = (exc.cause or "").split("start the Task: [", 1)[1][:-1]
        return set(_split_messages(listed))
    return set()


def _split_messages(listed: str) -> list[str]:
    # Messages are joined with ", " and each starts with "The "; the Method one lists verbs with ", ".
    out: list[str] = []
    for part in listed.split(", "):
        if out and not part.startswith("The "):
            out[-1] += ", " + part
        else:
            out.append(part)
    return out


def _without_cross_field(params: dict[str, Any]) -> dict[str, Any]:
    # A body on GET/HEAD is checked by eks_call after runtime_parameters; keep the comparison to one rule set.
    return {k: v for k, v in params.items() if k != "RequestBody"}


@given(CALL_VALUES)
def test_a_jsonpath_definition_gets_at_validate_time_exactly_the_problems_its_values_get_at_run_time(
    params: dict[str, Any],
) -> None:
    params = _without_cross_field(params)
    static = check_call(IntegrationPattern.REQUEST_RESPONSE, static_parameters(params, jsonata=False))
    assert {p.message for p in static} == runtime_messages(params)


def _computed_paths(value: Any, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    if isinstance(value, str) and value.startswith("{%") and value.endswith("%}") and len(value) >= 4:
        return {path}
    if isinstance(value, dict):
        return {p for k, v in value.items() for p in _computed_paths(v, (*path, k))}
    if isinstance(value, list):
        return {p for i, v in enumerate(value) for p in _computed_paths(v, (*path, str(i)))}
    return set()


@given(CALL_VALUES)
def test_a_jsonata_definition_reports_no_problem_inside_an_expression_and_every_literal_one(
    params: dict[str, Any],
) -> None:
    params = _without_cross_field(params)
    computed = _computed_paths(params)
    jsonata = check_call(IntegrationPattern.REQUEST_RESPONSE, static_parameters(params, jsonata=True))
    jsonpath = check_call(IntegrationPattern.REQUEST_RESPONSE, static_parameters(params, jsonata=False))
    # No problem lies at or under an expression: its value is unknown until it runs.
    assert not any(p.path[: len(c)] == c for p in jsonata for c in computed)
    # Every other problem is the one the same literal values get in a JSONPath state.
    literal = {(p.path, p.message) for p in jsonpath if not any(p.path[: len(c)] == c for c in computed)}
    assert {(p.path, p.message) for p in jsonata} == literal
