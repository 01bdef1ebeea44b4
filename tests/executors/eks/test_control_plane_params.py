"""Parameter casing both ways, parameter checks, and the resource registrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.model import ListShape, MapShape, Shape, StructureShape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import StatesRuntime
from engine.executor import IntegrationPattern, ParameterReading, StaticParameters
from engine.registry import ExecutorRegistry, UnknownResource
from executors.eks import RESOURCE_PATTERNS, EksExecutor, register
from executors.eks.control_plane import ACTIONS, sdk_metadata
from executors.eks.params import (
    check_static,
    eks_service_model,
    from_botocore,
    operation_model,
    pascal,
    to_botocore,
)

DOC_CLUSTER = {
    "Name": "MyCluster",
    "ResourcesVpcConfig": {"SubnetIds": ["subnet-053e7c47012341234", "subnet-027cfea4b12341234"]},
    "RoleArn": "arn:aws:iam::123456789012:role/MyEKSClusterRole",
}


def problems_of(
    operation: str,
    known: dict[str, Any],
    dynamic: frozenset[str] = frozenset(),
    reading: ParameterReading = ParameterReading.JSONPATH,
) -> dict[tuple[str, ...], str]:
    return {p.path: p.message for p in check_static(operation, known, dynamic, reading)}


# --- Step Functions casing → botocore ----------------------------------------------------------


def test_the_documented_create_cluster_parameters_become_botocore_members() -> None:
    assert to_botocore("CreateCluster", DOC_CLUSTER) == {
        "name": "MyCluster",
        "resourcesVpcConfig": {"subnetIds": ["subnet-053e7c47012341234", "subnet-027cfea4b12341234"]},
        "roleArn": "arn:aws:iam::123456789012:role/MyEKSClusterRole",
    }


def test_map_keys_such_as_tags_and_labels_are_passed_unchanged() -> None:
    params = {
        "ClusterName": "c",
        "FargateProfileName": "fp",
        "PodExecutionRoleArn": "arn:aws:iam::1:role/r",
        "Selectors": [{"Namespace": "ns", "Labels": {"My-Label": "v", "app.kubernetes.io/name": "x"}}],
        "Tags": {"Name": "n", "cost-center": "1"},
    }
    converted = to_botocore("CreateFargateProfile", params)
    assert converted["selectors"] == [
        {"namespace": "ns", "labels": {"My-Label": "v", "app.kubernetes.io/name": "x"}}
    ]
    assert converted["tags"] == {"Name": "n", "cost-center": "1"}


def test_an_integral_float_is_accepted_for_an_integer_member() -> None:
    params = {
        "ClusterName": "c",
        "NodegroupName": "n",
        "NodeRole": "arn:aws:iam::1:role/r",
        "Subnets": ["s"],
        "ScalingConfig": {"MinSize": 1.0, "MaxSize": 2, "DesiredSize": 1},
    }
    assert to_botocore("CreateNodegroup", params)["scalingConfig"] == {
        "minSize": 1,
        "maxSize": 2,
        "desiredSize": 1,
    }


def test_bad_runtime_parameters_are_states_runtime_listing_every_problem() -> None:
    params = {"Name": 5, "RoleArn": "r", "ResourcesVpcConfig": {"SubnetIds": "subnet-1"}, "Colour": "blue"}
    with pytest.raises(StatesRuntime) as info:
        to_botocore("CreateCluster", params, state_name="Create")
    cause = info.value.cause or ""
    assert info.value.error == "States.Runtime"
    assert cause.startswith("An error occurred while executing the state 'Create'.")
    assert 'The value for the field "Name" must be a STRING' in cause
    assert 'The value for the field "SubnetIds" must be a LIST' in cause
    assert 'The field "Colour" is not supported by Step Functions' in cause


def test_parameters_that_are_not_an_object_are_refused() -> None:
    with pytest.raises(StatesRuntime, match="must be a JSON object"):
        to_botocore("DeleteCluster", ["Name"])


# --- static checks -------------------------------------------------------------------------------


def test_missing_required_members_are_reported_with_their_path() -> None:
    assert problems_of("CreateCluster", {"Name": "x"}) == {
        ("RoleArn",): 'The field "RoleArn" is required',
        ("ResourcesVpcConfig",): 'The field "ResourcesVpcConfig" is required',
    }


def test_a_dynamic_member_counts_as_present_and_is_not_type_checked() -> None:
    assert problems_of("CreateCluster", {"Name": "x"}, frozenset({"RoleArn", "ResourcesVpcConfig"})) == {}


def test_unknown_fields_are_reported_at_every_depth() -> None:
    known = {**DOC_CLUSTER, "ResourcesVpcConfig": {"SubnetIds": ["s"], "Subnets": ["s"]}, "Region": "x"}
    assert problems_of("CreateCluster", known) == {
        ("ResourcesVpcConfig", "Subnets"): 'The field "Subnets" is not supported by Step Functions',
        ("Region",): 'The field "Region" is not supported by Step Functions',
    }


def test_nested_dynamic_keys_of_a_jsonpath_state_are_accepted_statically() -> None:
    known = {
        "Name": "n",
        "RoleArn": "r",
        "ResourcesVpcConfig": {"SubnetIds.$": "$.subnets", "EndpointPublicAccess.$": "$.public"},
        "Tags": {"team.$": "$.team"},
    }
    assert problems_of("CreateCluster", known) == {}
    assert problems_of("CreateCluster", {**known, "ResourcesVpcConfig": {"Nope.$": "$.x"}}) == {
        ("ResourcesVpcConfig", "Nope"): 'The field "Nope" is not supported by Step Functions',
    }


def test_nested_jsonata_values_of_a_jsonata_state_are_accepted_statically() -> None:
    known = {
        "Name": "{% $name %}",
        "RoleArn": "r",
        "ResourcesVpcConfig": {"SubnetIds": ["{% $a %}", "s"], "EndpointPublicAccess": "{% $public %}"},
        "Tags": {"team": "{% $team %}"},
        "Logging": {"ClusterLogging": ["{% $logging %}"]},
    }
    assert problems_of("CreateCluster", known, reading=ParameterReading.JSONATA) == {}
    # In a JSONata state ".$" is no suffix: the key is the field's whole name.
    nope = {**known, "ResourcesVpcConfig": {"SubnetIds.$": "$.x"}}
    assert problems_of("CreateCluster", nope, reading=ParameterReading.JSONATA) == {
        ("ResourcesVpcConfig", "SubnetIds.$"): 'The field "SubnetIds.$" is not supported by Step Functions',
    }


def test_jsonata_looking_strings_of_a_jsonpath_state_are_plain_strings_and_are_checked() -> None:
    known = {
        "Name": "{% $name %}",
        "RoleArn": "r",
        "ResourcesVpcConfig": {"SubnetIds": ["s"], "EndpointPublicAccess": "{% $public %}"},
        "Logging": {"ClusterLogging": ["{% $logging %}"]},
    }
    assert problems_of("CreateCluster", known) == {
        ("ResourcesVpcConfig", "EndpointPublicAccess"): 'The value for the field "EndpointPublicAccess" must be a BOOLEAN',
        ("Logging", "ClusterLogging", "0"): 'The value for the field "0" must be a OBJECT',
    }


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("ScalingConfig", "MinSize"), "2", "INTEGER"),
        (("ScalingConfig", "MinSize"), True, "INTEGER"),
        (("DiskSize",), 20.5, "INTEGER"),
        (("Labels",), ["a"], "OBJECT"),
        (("Labels", "k"), 1, "STRING"),
        (("Subnets", "0"), None, "STRING"),
        (("RemoteAccess",), "ssh", "OBJECT"),
    ],
)
def test_wrong_literal_types_are_reported_with_their_path(
    path: tuple[str, ...], value: Any, expected: str
) -> None:
    known: dict[str, Any] = {
        "ClusterName": "c",
        "NodegroupName": "n",
        "NodeRole": "r",
        "Subnets": ["s"],
        "ScalingConfig": {"MinSize": 1},
    }
    target: Any = known
    for key in path[:-1]:
        target = target.setdefault(key, {}) if not key.isdigit() else target[int(key)]
    if path[-1].isdigit():
        target[int(path[-1])] = value
    else:
        target[path[-1]] = value
    assert problems_of("CreateNodegroup", known) == {
        path: f'The value for the field "{path[-1]}" must be a {expected}'
    }


def test_the_executor_checks_control_plane_parameters_and_skips_wholly_dynamic_ones() -> None:
    executor = EksExecutor()
    found = executor.check_parameters(
        "deleteNodegroup", IntegrationPattern.SYNC, StaticParameters({"ClusterName": "c"}, frozenset())
    )
    assert [(p.path, p.message) for p in found] == [
        (("NodegroupName",), 'The field "NodegroupName" is required')
    ]
    assert (
        executor.check_parameters("createCluster", IntegrationPattern.SYNC, StaticParameters({}, None)) == []
    )
    unknown = executor.check_parameters(
        "describeCluster", IntegrationPattern.REQUEST_RESPONSE, StaticParameters({}, None)
    )
    assert unknown and "not a resource" in unknown[0].message


# --- botocore → Step Functions casing -----------------------------------------------------------


def test_the_output_pascal_cases_members_and_keeps_map_keys_and_values() -> None:
    shape = operation_model("DescribeCluster").output_shape
    response = {
        "cluster": {
            "name": "c",
            "createdAt": datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
            "certificateAuthority": {"data": "LS0t"},
            "identity": {"oidc": {"issuer": "https://oidc"}},
            "kubernetesNetworkConfig": {"serviceIpv4Cidr": "10.100.0.0/16", "ipFamily": "ipv4"},
            "tags": {"lowerKey": "v", "Upper": "w"},
            "status": "ACTIVE",
        },
        "ResponseMetadata": {"RequestId": "r", "HTTPStatusCode": 200},
    }
    assert from_botocore(shape, response) == {
        "Cluster": {
            "Name": "c",
            "CreatedAt": 1767323045678,
            "CertificateAuthority": {"Data": "LS0t"},
            "Identity": {"Oidc": {"Issuer": "https://oidc"}},
            "KubernetesNetworkConfig": {"ServiceIpv4Cidr": "10.100.0.0/16", "IpFamily": "ipv4"},
            "Tags": {"lowerKey": "v", "Upper": "w"},
            "Status": "ACTIVE",
        }
    }


def test_timestamps_can_be_epoch_seconds_or_iso8601() -> None:
    shape = operation_model("DescribeNodegroup").output_shape
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    value = {"nodegroup": {"createdAt": when}}
    assert from_botocore(shape, value, "epoch_seconds") == {"Nodegroup": {"CreatedAt": when.timestamp()}}
    assert from_botocore(shape, value, "iso8601") == {"Nodegroup": {"CreatedAt": "2026-01-02T03:04:05+00:00"}}


def test_sdk_metadata_mirrors_the_java_sdk_shape() -> None:
    meta = sdk_metadata(
        {
            "ResponseMetadata": {
                "RequestId": "rid",
                "HTTPStatusCode": 200,
                "HTTPHeaders": {"content-type": "application/json"},
            }
        }
    )
    assert meta == {
        "SdkHttpMetadata": {
            "AllHttpHeaders": {"content-type": ["application/json"]},
            "HttpHeaders": {"content-type": "application/json"},
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": "rid"},
    }


# --- round trip (property) -------------------------------------------------------------------------

_SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "string": st.text(max_size=8),
    "boolean": st.booleans(),
    "integer": st.integers(-(2**31), 2**31 - 1),
    "long": st.integers(-(2**53), 2**53),
    "double": st.floats(allow_nan=False, allow_infinity=False),
    "float": st.floats(allow_nan=False, allow_infinity=False, width=32),
}


def pascal_values(shape: Shape, depth: int = 0) -> st.SearchStrategy[Any]:
    """Random, valid, Step Functions-cased values of a botocore input shape."""
    if isinstance(shape, StructureShape):
        required = {pascal(m): pascal_values(shape.members[m], depth + 1) for m in shape.required_members}
        optional = (
            {}
            if depth > 3
            else {
                pascal(name): pascal_values(member, depth + 1)
                for name, member in shape.members.items()
                if name not in shape.required_members
            }
        )
        return st.fixed_dictionaries(required, optional=optional)
    if isinstance(shape, ListShape):
        return st.lists(pascal_values(shape.member, depth + 1), max_size=2)
    if isinstance(shape, MapShape):
        keys = st.text(min_size=1, max_size=6)
        return st.dictionaries(keys, pascal_values(shape.value, depth + 1), max_size=2)
    return _SCALARS.get(shape.type_name, st.text(max_size=4))


@pytest.mark.parametrize("operation", sorted({a.operation for a in ACTIONS.values()}))
def test_random_nested_members_survive_the_round_trip(operation: str) -> None:
    # The input shape doubles as the "output" shape: botocore casing back to
    # Step Functions casing must give the very value we started from.
    shape = operation_model(operation).input_shape

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(pascal_values(shape))
    def round_trip(value: dict[str, Any]) -> None:
        assert check_static(operation, value, frozenset()) == []
        assert from_botocore(shape, to_botocore(operation, value)) == value

    round_trip()


def test_every_member_name_of_the_eks_model_round_trips_through_pascal_case() -> None:
    model = eks_service_model()
    for name in model.shape_names:
        shape = model.shape_for(name)
        if isinstance(shape, StructureShape):
            for member in shape.members:
                assert member[0].lower() + pascal(member)[1:] == member


# --- registration -------------------------------------------------------------------------------


def test_fifteen_resources_are_registered_with_their_patterns() -> None:
    registry = ExecutorRegistry()
    register(registry)
    bases = {r.base: r.patterns for r in registry}
    assert len(bases) == 8
    assert sum(len(p) for p in bases.values()) == 15
    rr, sync = IntegrationPattern.REQUEST_RESPONSE, IntegrationPattern.SYNC
    assert bases["arn:aws:states:::eks:call"] == {rr}
    assert bases["arn:aws:states:::eks:runJob"] == {rr, sync}
    for action in ACTIONS:
        assert bases[f"arn:aws:states:::eks:{action}"] == {rr, sync}
    assert set(RESOURCE_PATTERNS) == {a.removeprefix("arn:aws:states:::eks:") for a in bases}
    executors = {id(r.executor) for r in registry}
    assert len(executors) == 1


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::eks:call.sync",
        "arn:aws:states:::eks:createCluster.waitForTaskToken",
        "arn:aws:states:::eks:runJob.waitForTaskToken",
        "arn:aws:states:::eks:describeCluster",
    ],
)
def test_unsupported_eks_resources_are_unknown(resource: str) -> None:
    registry = ExecutorRegistry()
    register(registry)
    with pytest.raises(UnknownResource):
        registry.lookup(resource)


def test_the_executor_delegates_kubernetes_parameter_checks() -> None:
    executor = EksExecutor()
    for action in ("runJob", "call"):
        found = executor.check_parameters(
            action, IntegrationPattern.REQUEST_RESPONSE, StaticParameters({}, frozenset())
        )
        assert ("ClusterName",) in {p.path for p in found}
