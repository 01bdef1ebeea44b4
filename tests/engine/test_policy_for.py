"""``engine.policy_for``: every Task asked (nested ones too), statements merged, the uncovered listed."""

from __future__ import annotations

from typing import Any

from engine import (
    ExecutorCall,
    ExecutorContext,
    ExecutorRegistry,
    IntegrationPattern,
    PolicyStatement,
    PolicyTarget,
    StaticParameters,
    policy_for,
)
from engine.jsonvalue import JSON
from engine.policy import merge_statements


class QueueExecutor:
    """A made-up ``queue:send`` integration that says what it needs."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, IntegrationPattern, StaticParameters, PolicyTarget]] = []

    async def run(self, call: ExecutorCall, ctx: ExecutorContext) -> JSON:
        return None

    def policy_statements(
        self, action: str, pattern: IntegrationPattern, parameters: StaticParameters, target: PolicyTarget
    ) -> list[PolicyStatement]:
        self.asked.append((action, pattern, parameters, target))
        name = (
            parameters.known.get("Queue")
            if parameters.dynamic is not None and "Queue" not in parameters.dynamic
            else "*"
        )
        return [PolicyStatement(("queue:Send",), (f"arn:aws:queue:{target.region}:{target.account}:{name}",))]


class SilentExecutor:
    async def run(self, call: ExecutorCall, ctx: ExecutorContext) -> JSON:
        return None


def registry() -> tuple[ExecutorRegistry, QueueExecutor]:
    reg = ExecutorRegistry()
    queue = QueueExecutor()
    reg.register(
        "arn:aws:states:::queue:send",
        queue,
        patterns=(IntegrationPattern.REQUEST_RESPONSE, IntegrationPattern.SYNC),
    )
    reg.register("arn:aws:states:::silent:do", SilentExecutor())
    return reg, queue


def send(queue: str | None, **extra: Any) -> dict[str, Any]:
    params = {"Queue": queue} if queue is not None else {"Queue.$": "$.q"}
    return {"Type": "Task", "Resource": "arn:aws:states:::queue:send", "Parameters": params, **extra}


NESTED = {
    "StartAt": "Top",
    "States": {
        "Top": send("a", Next="Fan"),
        "Fan": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "B", "States": {"B": send("b", End=True)}},
                {
                    "StartAt": "M",
                    "States": {
                        "M": {
                            "Type": "Map",
                            "ItemProcessor": {
                                "ProcessorConfig": {"Mode": "INLINE"},
                                "StartAt": "In",
                                "States": {"In": send(None, End=True)},
                            },
                            "End": True,
                        }
                    },
                },
            ],
            "Next": "Quiet",
        },
        "Quiet": {"Type": "Task", "Resource": "arn:aws:states:::silent:do", "End": True},
    },
}


def test_every_task_is_asked_nested_ones_included_and_star_covers_the_names() -> None:
    reg, queue = registry()
    result = policy_for(NESTED, registry=reg, region="eu-west-1", account="111122223333")
    assert [a[2].known.get("Queue") for a in queue.asked] == ["a", "b", None]
    assert queue.asked[0][3] == PolicyTarget(region="eu-west-1", account="111122223333")
    assert result.document == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["queue:Send"],
                "Resource": ["arn:aws:queue:eu-west-1:111122223333:*"],
            }
        ],
    }


def test_a_task_whose_executor_cannot_say_is_listed_with_its_location() -> None:
    reg, _ = registry()
    (uncovered,) = policy_for(NESTED, registry=reg).uncovered
    assert uncovered.location == "/States/Quiet"
    assert uncovered.resource == "arn:aws:states:::silent:do"
    assert "IAM" in uncovered.reason


def test_nested_locations_point_into_branches_and_processors() -> None:
    reg = ExecutorRegistry()
    reg.register("arn:aws:states:::silent:do", SilentExecutor())
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "x/y",
                        "States": {
                            "x/y": {"Type": "Task", "Resource": "arn:aws:states:::silent:do", "End": True}
                        },
                    }
                ],
                "End": True,
            }
        },
    }
    assert [u.location for u in policy_for(definition, registry=reg).uncovered] == [
        "/States/P/Branches/0/States/x~1y"
    ]


def test_jsonata_arguments_are_read_like_parameters() -> None:
    reg, queue = registry()
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "S",
        "States": {
            "S": {
                "Type": "Task",
                "Resource": "arn:aws:states:::queue:send",
                "Arguments": {"Queue": "{% $states.input.q %}"},
                "End": True,
            }
        },
    }
    policy_for(definition, registry=reg)
    assert queue.asked[0][2].dynamic == frozenset({"Queue"})


def test_task_credentials_add_assume_role() -> None:
    reg, _ = registry()
    definition = {
        "StartAt": "S",
        "States": {
            "S": send("a", Credentials={"RoleArn": "arn:aws:iam::111122223333:role/target"}, Next="T"),
            "T": send("a", Credentials={"RoleArn.$": "$.role"}, End=True),
        },
    }
    statements = policy_for(definition, registry=reg).document["Statement"]
    assert {"Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": "*"} in statements  # type: ignore[operator]


def test_merging_drops_duplicates_and_covered_resources_and_groups_by_resources() -> None:
    cond = {"StringEquals": {"iam:PassedToService": "eks.amazonaws.com"}}
    document = merge_statements(
        [
            PolicyStatement(("eks:DescribeCluster", "eks:DeleteCluster"), ("arn:aws:eks:r:a:cluster/x",)),
            PolicyStatement(("eks:DescribeCluster",), ("arn:aws:eks:r:a:cluster/*",)),
            PolicyStatement(("eks:DeleteCluster",), ("arn:aws:eks:r:a:cluster/*",)),
            PolicyStatement(("eks:CreateCluster",), ("*",)),
            PolicyStatement(("eks:CreateCluster",), ("arn:aws:eks:r:a:cluster/x",)),
            PolicyStatement(("iam:PassRole",), ("arn:aws:iam::a:role/one",), cond),
            PolicyStatement(("iam:PassRole",), ("arn:aws:iam::a:role/two",), cond),
            PolicyStatement(("iam:PassRole",), ("arn:aws:iam::a:role/one",)),
        ]
    )
    assert document["Statement"] == [
        {"Effect": "Allow", "Action": ["eks:CreateCluster"], "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": ["eks:DeleteCluster", "eks:DescribeCluster"],
            "Resource": ["arn:aws:eks:r:a:cluster/*"],
        },
        {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": ["arn:aws:iam::a:role/one"]},
        {
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": ["arn:aws:iam::a:role/one", "arn:aws:iam::a:role/two"],
            "Condition": cond,
        },
    ]
