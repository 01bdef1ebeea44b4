"""The IAM policy of EKS definitions: Step Functions' templates (spec §7), narrowed and merged.

The property test builds random definitions (every EKS resource, static and
path-supplied names, JSONPath and JSONata, nested Parallel and Map) and checks
the generated document with the simulators' IAM evaluator: every EKS call a
Task makes — written down here independently of the templates — is allowed.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import policy_for
from sim.aws.iam import Decision, Policy

REGION = "sa-east-1"
ACCOUNT = "444455556666"
EKS = f"arn:aws:eks:{REGION}:{ACCOUNT}"
PASSED = {"StringEquals": {"iam:PassedToService": "eks.amazonaws.com"}}


def task(resource: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": f"arn:aws:states:::eks:{resource}",
                "Parameters": parameters,
                "End": True,
            }
        },
    }


def statements(definition: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    generated = policy_for(definition, region=REGION, account=ACCOUNT, **kwargs)
    assert generated.uncovered == ()
    assert generated.document["Version"] == "2012-10-17"
    found = generated.document["Statement"]
    assert isinstance(found, list)
    return found  # type: ignore[return-value]


CLUSTER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/MyEKSClusterRole"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/MyNodeInstanceRole"
CREATE_CLUSTER = {
    "Name": "ExampleCluster",
    "RoleArn": CLUSTER_ROLE,
    "ResourcesVpcConfig": {"SubnetIds": ["subnet-1"]},
}
CREATE_NODEGROUP = {
    "ClusterName": "ExampleCluster",
    "NodegroupName": "ExampleNodegroup",
    "NodeRole": NODE_ROLE,
    "Subnets": ["subnet-1"],
}


def test_create_cluster_sync_is_the_template_narrowed_to_the_static_name() -> None:
    assert statements(task("createCluster.sync", CREATE_CLUSTER)) == [
        {"Effect": "Allow", "Action": ["eks:CreateCluster"], "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": ["eks:DeleteCluster", "eks:DescribeCluster"],
            "Resource": [f"{EKS}:cluster/ExampleCluster"],
        },
        {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": [CLUSTER_ROLE], "Condition": PASSED},
    ]


def test_a_name_from_a_path_widens_the_arn_and_a_role_from_a_path_passes_any_role() -> None:
    params = {"Name.$": "$.name", "RoleArn.$": "$.role", "ResourcesVpcConfig": {"SubnetIds": ["subnet-1"]}}
    found = statements(task("createCluster.sync", params))
    assert {
        "Effect": "Allow",
        "Action": ["eks:DeleteCluster", "eks:DescribeCluster"],
        "Resource": [f"{EKS}:cluster/*"],
    } in found
    assert {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": "*", "Condition": PASSED} in found


def test_request_response_create_needs_no_describe_or_delete() -> None:
    found = statements(task("createCluster", CREATE_CLUSTER))
    assert [s["Action"] for s in found] == [["eks:CreateCluster"], ["iam:PassRole"]]


def test_the_execution_cleanup_policy_adds_describe_and_delete_for_request_response_creates() -> None:
    found = statements(task("createCluster", CREATE_CLUSTER), cleanup="execution")
    assert {
        "Effect": "Allow",
        "Action": ["eks:DeleteCluster", "eks:DescribeCluster"],
        "Resource": [f"{EKS}:cluster/ExampleCluster"],
    } in found


def test_create_nodegroup_sync_follows_the_template() -> None:
    assert statements(task("createNodegroup.sync", CREATE_NODEGROUP)) == [
        {"Effect": "Allow", "Action": ["ec2:DescribeSubnets", "eks:CreateNodegroup"], "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": ["eks:DeleteNodegroup", "eks:DescribeNodegroup"],
            "Resource": [f"{EKS}:nodegroup/ExampleCluster/ExampleNodegroup/*"],
        },
        {
            "Effect": "Allow",
            "Action": ["iam:GetRole", "iam:ListAttachedRolePolicies"],
            "Resource": [f"arn:aws:iam::{ACCOUNT}:role/*"],
        },
        {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": [NODE_ROLE], "Condition": PASSED},
    ]


def test_delete_templates_match_the_documented_ones() -> None:
    assert statements(task("deleteCluster.sync", {"Name": "ExampleCluster"})) == [
        {
            "Effect": "Allow",
            "Action": ["eks:DeleteCluster", "eks:DescribeCluster"],
            "Resource": [f"{EKS}:cluster/ExampleCluster"],
        }
    ]
    assert statements(
        task("deleteNodegroup.sync", {"ClusterName": "ExampleCluster", "NodegroupName": "ExampleNodegroup"})
    ) == [
        {
            "Effect": "Allow",
            "Action": ["eks:DeleteNodegroup", "eks:DescribeNodegroup"],
            "Resource": [f"{EKS}:nodegroup/ExampleCluster/ExampleNodegroup/*"],
        }
    ]
    assert statements(task("deleteCluster", {"Name": "ExampleCluster"})) == [
        {"Effect": "Allow", "Action": ["eks:DeleteCluster"], "Resource": [f"{EKS}:cluster/ExampleCluster"]}
    ]


def test_fargate_profiles_get_the_same_shape_with_the_pod_execution_role() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/MyFargatePodExecutionRole"
    params = {"ClusterName": "c", "FargateProfileName.$": "$.p", "PodExecutionRoleArn": role}
    assert statements(task("createFargateProfile.sync", params)) == [
        {"Effect": "Allow", "Action": ["eks:CreateFargateProfile"], "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": ["eks:DeleteFargateProfile", "eks:DescribeFargateProfile"],
            "Resource": [f"{EKS}:fargateprofile/c/*/*"],
        },
        {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": [role], "Condition": PASSED},
    ]


def test_run_job_and_call_need_no_iam_permission() -> None:
    kube = {"ClusterName": "c", "CertificateAuthority": "Q0E=", "Endpoint": "https://k.example"}
    assert statements(task("runJob.sync", {**kube, "Job": {"apiVersion": "batch/v1", "kind": "Job"}})) == []
    assert statements(task("call", {**kube, "Method": "GET", "Path": "/api/v1/namespaces"})) == []


def test_two_tasks_on_one_cluster_merge_into_one_statement_and_star_covers_names() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Task",
                "Resource": "arn:aws:states:::eks:deleteCluster.sync",
                "Parameters": {"Name": "x"},
                "Next": "B",
            },
            "B": {
                "Type": "Task",
                "Resource": "arn:aws:states:::eks:deleteCluster.sync",
                "Parameters": {"Name": "x"},
                "Next": "C",
            },
            "C": {
                "Type": "Task",
                "Resource": "arn:aws:states:::eks:deleteCluster",
                "Parameters": {"Name.$": "$.n"},
                "End": True,
            },
        },
    }
    assert statements(definition) == [
        {"Effect": "Allow", "Action": ["eks:DeleteCluster"], "Resource": [f"{EKS}:cluster/*"]},
        {"Effect": "Allow", "Action": ["eks:DescribeCluster"], "Resource": [f"{EKS}:cluster/x"]},
    ]


# -- the property: random definitions → a valid policy that allows every call ----------------------------

NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
KUBE_PARAMS = {"CertificateAuthority": "Q0E=", "Endpoint": "https://k.example"}


@st.composite
def eks_task(draw: st.DrawFn) -> dict[str, Any]:
    """A Task description: resource, parameters (``None`` for path-supplied) and the concrete values used."""
    action = draw(
        st.sampled_from(
            ["createCluster", "deleteCluster", "createNodegroup", "deleteNodegroup", "createFargateProfile",
             "deleteFargateProfile", "runJob", "call"]
        )
    )  # fmt: skip
    sync = action != "call" and draw(st.booleans())
    names = {key: draw(st.one_of(st.none(), NAMES)) for key in ("cluster", "item", "role")}
    return {"action": action, "sync": sync, "names": names}


def _render(spec: dict[str, Any], jsonata: bool) -> dict[str, Any]:
    names = spec["names"]
    params: dict[str, Any] = {}

    def put(key: str, value: str | None, concrete: str) -> None:
        if value is not None:
            params[key] = value
        elif jsonata:
            params[key] = "{% $states.input.v %}"
        else:
            params[key + ".$"] = "$.v"
        spec.setdefault("concrete", {})[key] = value if value is not None else concrete

    role = (lambda n: None if n is None else f"arn:aws:iam::{ACCOUNT}:role/{n}")(names["role"])
    concrete_role = f"arn:aws:iam::{ACCOUNT}:role/from-input"
    action = spec["action"]
    if action.endswith("Cluster"):
        put("Name", names["cluster"], "dynamic-cluster")
        if action == "createCluster":
            put("RoleArn", role, concrete_role)
            params["ResourcesVpcConfig"] = {"SubnetIds": ["subnet-1"]}
    elif action.endswith("Nodegroup") or action.endswith("FargateProfile"):
        put("ClusterName", names["cluster"], "dynamic-cluster")
        item = "NodegroupName" if action.endswith("Nodegroup") else "FargateProfileName"
        put(item, names["item"], "dynamic-item")
        if action == "createNodegroup":
            put("NodeRole", role, concrete_role)
            params["Subnets"] = ["subnet-1"]
        elif action == "createFargateProfile":
            put("PodExecutionRoleArn", role, concrete_role)
    else:
        put("ClusterName", names["cluster"], "dynamic-cluster")
        params.update(KUBE_PARAMS)
        if action == "runJob":
            params["Job"] = {"apiVersion": "batch/v1", "kind": "Job"}
        else:
            params.update({"Method": "GET", "Path": "/api/v1/namespaces"})
    resource = f"arn:aws:states:::eks:{action}{'.sync' if spec['sync'] else ''}"
    return {"Type": "Task", "Resource": resource, "Arguments" if jsonata else "Parameters": params}


def _chain(states: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, state in enumerate(states):
        state = dict(state)
        if i + 1 < len(states):
            state["Next"] = f"S{i + 1}"
        else:
            state["End"] = True
        out[f"S{i}"] = state
    return {"StartAt": "S0", "States": out}


@st.composite
def definitions(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    jsonata = draw(st.booleans())
    specs: list[dict[str, Any]] = []

    def tasks(n_min: int) -> list[dict[str, Any]]:
        drawn = draw(st.lists(eks_task(), min_size=n_min, max_size=3))
        specs.extend(drawn)
        return [_render(spec, jsonata) for spec in drawn]

    top: list[dict[str, Any]] = tasks(1)
    for wrapper in draw(st.lists(st.sampled_from(["Parallel", "Map"]), max_size=2)):
        if wrapper == "Parallel":
            top.append({"Type": "Parallel", "Branches": [_chain(tasks(1)), _chain(tasks(1))]})
        else:
            processor = {"ProcessorConfig": {"Mode": "INLINE"}, **_chain(tasks(1))}
            top.append({"Type": "Map", "ItemProcessor": processor})
    definition = _chain(top)
    if jsonata:
        definition["QueryLanguage"] = "JSONata"
    return definition, specs


def calls(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """The IAM checks the EKS calls of one Task face (the simulators' resource conventions)."""
    action, sync, c = spec["action"], spec["sync"], spec["concrete"]
    passed = {"iam:PassedToService": "eks.amazonaws.com"}
    if action in ("runJob", "call"):
        return []
    if action.endswith("Cluster"):
        arn = f"{EKS}:cluster/{c['Name']}"
        if action == "createCluster":
            found = [("eks:CreateCluster", arn, {}), ("iam:PassRole", c["RoleArn"], passed)]
            return found + (
                [("eks:DescribeCluster", arn, {}), ("eks:DeleteCluster", arn, {})] if sync else []
            )
        return [("eks:DeleteCluster", arn, {})] + ([("eks:DescribeCluster", arn, {})] if sync else [])
    noun, item_key, kind = (
        ("Nodegroup", "NodegroupName", "nodegroup")
        if action.endswith("Nodegroup")
        else ("FargateProfile", "FargateProfileName", "fargateprofile")
    )
    cluster_arn = f"{EKS}:cluster/{c['ClusterName']}"
    arn = f"{EKS}:{kind}/{c['ClusterName']}/{c[item_key]}/5a7d6fc2-7360-4d20-3000-000000000000"
    if action.startswith("create"):
        role_key = "NodeRole" if noun == "Nodegroup" else "PodExecutionRoleArn"
        found = [(f"eks:Create{noun}", cluster_arn, {}), ("iam:PassRole", c[role_key], passed)]
        return found + ([(f"eks:Describe{noun}", arn, {}), (f"eks:Delete{noun}", arn, {})] if sync else [])
    return [(f"eks:Delete{noun}", arn, {})] + ([(f"eks:Describe{noun}", arn, {})] if sync else [])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated=definitions(), cleanup=st.sampled_from(["aborted-task", "execution"]))
def test_random_definitions_get_a_valid_policy_that_allows_every_eks_call(
    generated: tuple[dict[str, Any], list[dict[str, Any]]], cleanup: str
) -> None:
    definition, specs = generated
    result = policy_for(definition, region=REGION, account=ACCOUNT, cleanup=cleanup)
    assert result.uncovered == ()
    document = json.loads(json.dumps(result.document))
    policy = Policy.parse(document)  # valid for the IAM evaluator (raises otherwise)
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        assert statement["Action"] == sorted(set(statement["Action"]))
    pairs = [
        (a, r)
        for s in document["Statement"]
        for a in s["Action"]
        for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    ]
    assert len(pairs) == len(set(pairs)), "an (action, resource) pair is granted twice"
    for spec in specs:
        for action, resource, context in calls(spec):
            assert policy.evaluate(action, resource, context) is Decision.ALLOWED, (spec, action, resource)
        if cleanup == "execution" and spec["action"].startswith("create") and not spec["sync"]:
            for action, resource, context in calls({**spec, "sync": True}):
                assert policy.evaluate(action, resource, context) is Decision.ALLOWED, (
                    spec,
                    action,
                    resource,
                )
