"""eks:call pieces that need no API server: definition-time checks and body content types."""

from __future__ import annotations

from engine.executor import IntegrationPattern, StaticParameters
from executors.eks.call import check_parameters, content_type_for

CLUSTER = {"ClusterName": "demo", "CertificateAuthority": "Q0E=", "Endpoint": "https://example.com"}


def problems_for(
    known: dict[str, object], dynamic: frozenset[str] = frozenset()
) -> dict[tuple[str, ...], str]:
    found = check_parameters(
        IntegrationPattern.REQUEST_RESPONSE, StaticParameters(known=known, dynamic=dynamic)
    )
    return {p.path: p.message for p in found}


def test_a_complete_literal_call_has_no_problems() -> None:
    assert (
        problems_for(
            {
                **CLUSTER,
                "Method": "GET",
                "Path": "/api/v1/namespaces/default/pods",
                "QueryParameters": {"labelSelector": ["job-name=x"]},
            }
        )
        == {}
    )


def test_missing_fields_an_unknown_method_and_an_unknown_field_are_reported() -> None:
    found = problems_for(
        {"ClusterName": "demo", "Method": "get", "Path": "/api", "Body": {}}, dynamic=frozenset({"Endpoint"})
    )
    assert found == {
        ("CertificateAuthority",): 'The field "CertificateAuthority" is required',
        ("Method",): 'The value for the field "Method" must be one of GET, POST, PUT, DELETE, HEAD, PATCH',
        ("Body",): 'The field "Body" is not supported by Step Functions',
    }


def test_a_literal_path_that_leaves_the_endpoint_is_reported() -> None:
    found = problems_for({**CLUSTER, "Method": "GET", "Path": "https://evil.example/api"})
    assert list(found) == [("Path",)] and "absolute path" in found[("Path",)]


def test_query_parameters_must_map_names_to_lists_of_strings() -> None:
    found = problems_for({**CLUSTER, "Method": "GET", "Path": "/api", "QueryParameters": {"limit": 5}})
    assert found == {("QueryParameters", "limit"): 'The value for the field "limit" must be a list of STRING'}


def test_a_get_or_head_with_a_request_body_is_reported() -> None:
    found = problems_for({**CLUSTER, "Method": "HEAD", "Path": "/api", "RequestBody": {"a": 1}})
    assert list(found) == [("RequestBody",)]


def test_patch_bodies_choose_their_content_type_by_shape() -> None:
    assert content_type_for("PATCH", {"data": {}}) == "application/merge-patch+json"
    assert content_type_for("PATCH", [{"op": "remove", "path": "/x"}]) == "application/json-patch+json"
    assert content_type_for("PATCH", '[{"op": "remove", "path": "/x"}]') == "application/json-patch+json"
    assert content_type_for("PATCH", "kind: ConfigMap\n") == "application/apply-patch+yaml"
    assert content_type_for("POST", {"kind": "ConfigMap"}) == "application/json"
    assert content_type_for("PUT", "kind: ConfigMap\n") == "application/yaml"
