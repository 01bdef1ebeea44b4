"""IAM policy evaluation of the simulators: IAM's documented rules, and refusal of what it cannot evaluate."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.aws.iam import Decision, Policy, PolicyError, denial_message

CLUSTER = "arn:aws:eks:us-east-1:111122223333:cluster/demo"
NODEGROUP = "arn:aws:eks:us-east-1:111122223333:nodegroup/demo/workers/0b1c"


def policy(*statements: dict[str, Any]) -> Policy:
    return Policy.parse({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_an_allowed_action_on_a_matching_resource_is_allowed() -> None:
    p = policy(allow(["eks:DescribeCluster"], "arn:aws:eks:us-east-1:111122223333:cluster/*"))
    assert p.evaluate("eks:DescribeCluster", CLUSTER) is Decision.ALLOWED


def test_nothing_allows_it_so_it_is_implicitly_denied() -> None:
    p = policy(allow("eks:DescribeCluster", CLUSTER))
    assert p.evaluate("eks:DeleteCluster", CLUSTER) is Decision.IMPLICIT_DENY
    assert p.evaluate("eks:DescribeCluster", CLUSTER + "2") is Decision.IMPLICIT_DENY


def test_an_explicit_deny_wins_over_any_allow() -> None:
    p = policy(allow("eks:*"), {"Effect": "Deny", "Action": "eks:Delete*", "Resource": CLUSTER})
    assert p.evaluate("eks:DeleteCluster", CLUSTER) is Decision.EXPLICIT_DENY
    assert p.evaluate("eks:DescribeCluster", CLUSTER) is Decision.ALLOWED


def test_actions_match_case_insensitively_with_both_wildcards() -> None:
    p = policy(allow("EKS:describe?luster"))
    assert p.evaluate("eks:DescribeCluster", CLUSTER) is Decision.ALLOWED
    assert p.evaluate("eks:DescribeNodegroup", CLUSTER) is Decision.IMPLICIT_DENY


def test_resources_match_case_sensitively_and_star_spans_slashes() -> None:
    p = policy(allow("eks:*", "arn:aws:eks:*:111122223333:nodegroup/demo/*"))
    assert p.evaluate("eks:DescribeNodegroup", NODEGROUP) is Decision.ALLOWED
    assert p.evaluate("eks:DescribeNodegroup", NODEGROUP.replace("demo", "Demo")) is Decision.IMPLICIT_DENY


def test_not_action_applies_to_every_other_action() -> None:
    p = policy({"Effect": "Allow", "NotAction": "eks:Delete*", "Resource": "*"})
    assert p.evaluate("eks:CreateCluster", CLUSTER) is Decision.ALLOWED
    assert p.evaluate("eks:DeleteCluster", CLUSTER) is Decision.IMPLICIT_DENY


def test_not_resource_applies_to_every_other_resource() -> None:
    p = policy(allow("eks:*"), {"Effect": "Deny", "Action": "eks:*", "NotResource": CLUSTER})
    assert p.evaluate("eks:DeleteCluster", CLUSTER) is Decision.ALLOWED
    assert p.evaluate("eks:DeleteCluster", CLUSTER + "-other") is Decision.EXPLICIT_DENY


def test_an_action_without_resource_level_permissions_needs_resource_star() -> None:
    p = policy(allow("eks:ListClusters", "arn:aws:eks:us-east-1:111122223333:cluster/*"))
    assert p.evaluate("eks:ListClusters", "*") is Decision.IMPLICIT_DENY
    assert policy(allow("eks:ListClusters")).evaluate("eks:ListClusters", "*") is Decision.ALLOWED


def test_string_conditions_need_their_key_unless_negated_or_if_exists() -> None:
    passed = {"StringEquals": {"iam:PassedToService": "eks.amazonaws.com"}}
    p = policy(allow("iam:PassRole", "*", Condition=passed))
    assert p.evaluate(
        "iam:PassRole", "arn:aws:iam::1:role/r", {"iam:PassedToService": "eks.amazonaws.com"}
    ) is (Decision.ALLOWED)
    assert p.evaluate(
        "iam:PassRole", "arn:aws:iam::1:role/r", {"iam:passedtoservice": "ec2.amazonaws.com"}
    ) is (Decision.IMPLICIT_DENY)
    assert p.evaluate("iam:PassRole", "arn:aws:iam::1:role/r") is Decision.IMPLICIT_DENY
    negated = policy(allow("*", "*", Condition={"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}))
    assert negated.evaluate("eks:ListClusters", "*") is Decision.ALLOWED
    if_exists = policy(
        allow("*", "*", Condition={"StringEqualsIfExists": {"aws:RequestedRegion": "us-east-1"}})
    )
    assert if_exists.evaluate("eks:ListClusters", "*") is Decision.ALLOWED
    assert if_exists.evaluate("eks:ListClusters", "*", {"aws:RequestedRegion": "eu-west-1"}) is (
        Decision.IMPLICIT_DENY
    )


def test_like_operators_take_wildcards_and_any_listed_value() -> None:
    cond = {"ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::*:role/ops-*", "arn:aws:iam::*:role/admin"]}}
    p = policy(allow("*", "*", Condition=cond))
    assert p.evaluate("eks:ListClusters", "*", {"aws:PrincipalArn": "arn:aws:iam::1:role/ops-42"}) is (
        Decision.ALLOWED
    )
    assert p.evaluate("eks:ListClusters", "*", {"aws:PrincipalArn": "arn:aws:iam::1:role/dev"}) is (
        Decision.IMPLICIT_DENY
    )


def test_a_single_statement_object_is_accepted() -> None:
    p = Policy.parse({"Version": "2012-10-17", "Statement": allow("eks:*")})
    assert p.evaluate("eks:CreateCluster", "*") is Decision.ALLOWED


@pytest.mark.parametrize(
    ("statement", "complaint"),
    [
        ({"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "*"}, "Principal"),
        ({"Effect": "Permit", "Action": "*", "Resource": "*"}, "Effect"),
        ({"Effect": "Allow", "Resource": "*"}, "Action and NotAction"),
        ({"Effect": "Allow", "Action": "*"}, "Resource and NotResource"),
        ({"Effect": "Allow", "Action": "*", "Resource": "*", "Sid2": "x"}, "unknown field"),
        ({"Effect": "Allow", "Action": "DescribeCluster", "Resource": "*"}, "service:Action"),
        ({"Effect": "Allow", "Action": "*", "Resource": "cluster/demo"}, "not an ARN"),
        (
            {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"NumericLessThan": {"k": "1"}}},
            "operator",
        ),
        ({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::${aws:username}"}, "policy variables"),
        ({"Effect": "Allow", "Action": [], "Resource": "*"}, "non-empty list"),
    ],
)
def test_what_cannot_be_evaluated_is_refused_with_its_location(
    statement: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(PolicyError, match=complaint) as info:
        policy(statement)
    assert "Statement[0]" in str(info.value)


def test_a_policy_that_is_not_json_or_has_a_bad_version_is_refused() -> None:
    with pytest.raises(PolicyError, match="not valid JSON"):
        Policy.parse("{nope")
    with pytest.raises(PolicyError, match="Version"):
        Policy.parse({"Version": "2020-01-01", "Statement": []})


def test_the_denial_message_has_aws_shape() -> None:
    caller = "arn:aws:sts::111122223333:assumed-role/sfn/session"
    assert denial_message(caller, "eks:DeleteCluster", CLUSTER, Decision.IMPLICIT_DENY) == (
        f"User: {caller} is not authorized to perform: eks:DeleteCluster on resource: {CLUSTER} "
        "because no identity-based policy allows the eks:DeleteCluster action"
    )
    assert denial_message(caller, "eks:DeleteCluster", CLUSTER, Decision.EXPLICIT_DENY).endswith(
        "with an explicit deny in an identity-based policy"
    )


ACTIONS = st.sampled_from(["eks:CreateCluster", "eks:DeleteCluster", "eks:DescribeCluster", "iam:PassRole"])
PATTERNS = st.sampled_from(["*", "eks:*", "eks:Delete*", "eks:Describe?luster", "iam:*", "eks:CreateCluster"])
RESOURCES = st.sampled_from([CLUSTER, NODEGROUP, "arn:aws:eks:us-east-1:111122223333:cluster/*", "*"])


@given(
    statements=st.lists(
        st.tuples(st.sampled_from(["Allow", "Deny"]), PATTERNS, RESOURCES), min_size=1, max_size=6
    ),
    action=ACTIONS,
    resource=st.sampled_from([CLUSTER, NODEGROUP]),
)
def test_the_decision_is_deny_if_any_deny_applies_else_allow_if_any_allow_applies(
    statements: list[tuple[str, str, str]], action: str, resource: str
) -> None:
    p = policy(*({"Effect": e, "Action": a, "Resource": r} for e, a, r in statements))
    applicable = [
        s for s, (_, a, r) in zip(p.statements, statements, strict=True) if s.applies(action, resource, {})
    ]
    decision = p.evaluate(action, resource)
    if any(s.effect == "Deny" for s in applicable):
        assert decision is Decision.EXPLICIT_DENY
    elif applicable:
        assert decision is Decision.ALLOWED
    else:
        assert decision is Decision.IMPLICIT_DENY
    # Adding a Deny of everything always wins; removing every Deny never denies explicitly.
    assert policy(
        *({"Effect": e, "Action": a, "Resource": r} for e, a, r in statements),
        {"Effect": "Deny", "Action": "*", "Resource": "*"},
    ).evaluate(action, resource) is (Decision.EXPLICIT_DENY)
