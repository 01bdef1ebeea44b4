"""State machine aliases through real boto3: routing by weight, AWS's errors, and a restart in between."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.statewright.api.conftest import ROLE, client, pass_machine
from tests.statewright.api.support import ServeProcess, error_code, finished


def _two_versions(sfn: Any, name: str) -> tuple[str, str, str]:
    created = sfn.create_state_machine(name=name, definition=pass_machine(v=1), roleArn=ROLE, publish=True)
    machine = created["stateMachineArn"]
    v2 = sfn.update_state_machine(stateMachineArn=machine, definition=pass_machine(v=2), publish=True)
    return machine, created["stateMachineVersionArn"], v2["stateMachineVersionArn"]


def test_an_alias_routes_executions_to_its_versions_by_weight(sfn: Any) -> None:
    machine, v1, v2 = _two_versions(sfn, "routed")
    routing = [{"stateMachineVersionArn": v1, "weight": 30}, {"stateMachineVersionArn": v2, "weight": 70}]
    alias = sfn.create_state_machine_alias(name="live", routingConfiguration=routing, description="canary")
    arn = alias["stateMachineAliasArn"]
    assert arn == f"{machine}:live"
    again = sfn.create_state_machine_alias(name="live", routingConfiguration=routing, description="canary")
    assert again["creationDate"] == alias["creationDate"]  # the same request answers the same alias
    d = sfn.describe_state_machine_alias(stateMachineAliasArn=arn)
    assert (d["name"], d["description"], d["routingConfiguration"]) == ("live", "canary", routing)
    outputs = []
    for i in range(40):
        ex = sfn.start_execution(stateMachineArn=arn, name=f"r{i}")["executionArn"]
        described = finished(sfn, ex)
        assert described["stateMachineAliasArn"] == arn
        version = described["stateMachineVersionArn"]
        outputs.append((version, json.loads(described["output"])["v"]))
    assert {v for v, _ in outputs} == {v1, v2}  # 40 draws at 30/70: both are chosen
    assert all((v == v1) == (n == 1) for v, n in outputs)  # each ran its version's definition
    listed = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert all(e["stateMachineAliasArn"] == arn for e in listed)

    sfn.update_state_machine_alias(
        stateMachineAliasArn=arn, routingConfiguration=[{"stateMachineVersionArn": v2, "weight": 100}]
    )
    ex = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert finished(sfn, ex)["stateMachineVersionArn"] == v2
    sfn.delete_state_machine_version(stateMachineVersionArn=v1)  # no alias routes to it now
    assert [a["stateMachineAliasArn"] for a in sfn.list_state_machine_aliases(stateMachineArn=machine)[
        "stateMachineAliases"
    ]] == [arn]
    sfn.delete_state_machine_alias(stateMachineAliasArn=arn)
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine_alias(stateMachineAliasArn=arn)
    assert error_code(exc) == "ResourceNotFound"


def test_alias_errors_are_aws_errors(sfn: Any) -> None:
    machine, v1, v2 = _two_versions(sfn, "strict")
    one = [{"stateMachineVersionArn": v1, "weight": 100}]
    arn = sfn.create_state_machine_alias(name="prod", routingConfiguration=one)["stateMachineAliasArn"]
    cases: list[tuple[Any, str]] = [
        (lambda: sfn.create_state_machine_alias(
            name="prod", routingConfiguration=[{"stateMachineVersionArn": v2, "weight": 100}]
        ), "ConflictException"),
        (lambda: sfn.delete_state_machine_version(stateMachineVersionArn=v1), "ConflictException"),
        (lambda: sfn.create_state_machine_alias(
            name="half", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 50}]
        ), "ValidationException"),
        (lambda: sfn.create_state_machine_alias(
            name="gone", routingConfiguration=[{"stateMachineVersionArn": f"{machine}:9", "weight": 100}]
        ), "ResourceNotFound"),
        (lambda: sfn.create_state_machine_alias(name="123", routingConfiguration=one), "InvalidName"),
        (lambda: sfn.update_state_machine_alias(stateMachineAliasArn=arn), "ValidationException"),
        (lambda: sfn.describe_state_machine_alias(stateMachineAliasArn=f"{machine}:other"), "ResourceNotFound"),
        (lambda: sfn.describe_state_machine_alias(stateMachineAliasArn=machine), "InvalidArn"),
        (lambda: sfn.start_execution(stateMachineArn=f"{machine}:other"), "ResourceNotFound"),
    ]  # fmt: skip
    for call, code in cases:
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == code
    sfn.delete_state_machine(stateMachineArn=machine)
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine_alias(stateMachineAliasArn=arn)
    assert error_code(exc) == "ResourceNotFound"  # aliases go with their machine


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_aliases_survive_a_restart(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    store = (
        f"sqlite:///{tmp_path / 'sfn.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    )
    first = ServeProcess("--store", store)
    try:
        sfn = client(first.url)
        machine, v1, v2 = _two_versions(sfn, "kept")
        arn = sfn.create_state_machine_alias(
            name="live", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}]
        )["stateMachineAliasArn"]
        sfn.update_state_machine_alias(stateMachineAliasArn=arn, description="moved")
        ex = sfn.start_execution(stateMachineArn=arn, name="before")["executionArn"]
        assert finished(sfn, ex)["status"] == "SUCCEEDED"
        before = sfn.describe_state_machine_alias(stateMachineAliasArn=arn)
    finally:
        code, err = first.stop()
    assert code == 0 and "Traceback" not in err

    second = ServeProcess("--store", store)
    try:
        sfn = client(second.url)
        after = sfn.describe_state_machine_alias(stateMachineAliasArn=arn)
        assert {**after, "ResponseMetadata": None} == {**before, "ResponseMetadata": None}
        assert [m["name"] for m in sfn.list_state_machines()["stateMachines"]] == ["kept"]
        d = sfn.describe_execution(executionArn=ex)
        assert (d["stateMachineAliasArn"], d["stateMachineVersionArn"]) == (arn, v1)
        item = sfn.list_executions(stateMachineArn=machine)["executions"][0]
        assert (item["stateMachineAliasArn"], item["stateMachineVersionArn"]) == (arn, v1)
        with pytest.raises(ClientError) as exc:
            sfn.delete_state_machine_version(stateMachineVersionArn=v1)
        assert error_code(exc) == "ConflictException"
        again = sfn.start_execution(stateMachineArn=arn)["executionArn"]
        assert json.loads(finished(sfn, again)["output"]) == {"v": 1}
        assert v2 in [v["stateMachineVersionArn"] for v in sfn.list_state_machine_versions(
            stateMachineArn=machine
        )["stateMachineVersions"]]
    finally:
        code, err = second.stop()
    assert code == 0 and "Traceback" not in err
