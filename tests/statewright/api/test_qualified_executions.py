"""Executions started through versions and aliases: ListExecutions by a version or alias ARN,
DescribeStateMachineForExecution of them, and aliases through the AWS CLI and aioboto3.

AWS lists the executions started through a version (an alias's included: the
version it picked) or through an alias when ListExecutions' ``stateMachineArn``
is that version's or alias's ARN. Checked in memory and on a SQLite store read
back by a restarted ``statewright serve``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aioboto3
import pytest
from botocore.exceptions import ClientError

from statewright.api import ApiServer
from tests.statewright.api.conftest import CLIENT_CONFIG, ROLE, client, pass_machine
from tests.statewright.api.support import ServeProcess, error_code, finished

AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")


def _started(sfn: Any) -> tuple[str, str, str, str, dict[str, str]]:
    """A machine with versions 1 and 2, alias ``live`` on 1; executions named by how they started."""
    created = sfn.create_state_machine(name="q", definition=pass_machine(v=1), roleArn=ROLE, publish=True)
    machine, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
    v2 = sfn.update_state_machine(stateMachineArn=machine, definition=pass_machine(v=2), publish=True)[
        "stateMachineVersionArn"
    ]
    alias = sfn.create_state_machine_alias(
        name="live", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}]
    )["stateMachineAliasArn"]
    names = {"plain": machine, "on-v1": v1, "on-v2": v2, "on-alias": alias}
    executions = {}
    for name, arn in names.items():
        executions[name] = sfn.start_execution(stateMachineArn=arn, name=name)["executionArn"]
        assert finished(sfn, executions[name])["status"] == "SUCCEEDED"
    return machine, v1, v2, alias, executions


def _names(sfn: Any, arn: str, **kw: Any) -> list[str]:
    return [e["name"] for e in sfn.list_executions(stateMachineArn=arn, **kw)["executions"]]


def _check_listing(sfn: Any, machine: str, v1: str, v2: str, alias: str) -> None:
    assert _names(sfn, machine) == ["on-alias", "on-v2", "on-v1", "plain"]
    assert _names(sfn, v1) == ["on-alias", "on-v1"]
    assert _names(sfn, v2) == ["on-v2"]
    assert _names(sfn, alias) == ["on-alias"]
    assert _names(sfn, alias, statusFilter="FAILED") == []
    item = sfn.list_executions(stateMachineArn=alias)["executions"][0]
    assert (item["stateMachineAliasArn"], item["stateMachineVersionArn"]) == (alias, v1)
    for arn, code in (
        (f"{machine}:9", "StateMachineDoesNotExist"),
        (f"{machine}:gone", "ResourceNotFound"),
        (f"{machine}:0", "InvalidArn"),
    ):
        with pytest.raises(ClientError) as exc:
            sfn.list_executions(stateMachineArn=arn)
        assert error_code(exc) == code, arn


def test_list_executions_by_version_or_alias_arn(sfn: Any) -> None:
    machine, v1, v2, alias, _ = _started(sfn)
    _check_listing(sfn, machine, v1, v2, alias)
    page = sfn.list_executions(stateMachineArn=v1, maxResults=1)
    assert [e["name"] for e in page["executions"]] == ["on-alias"]
    rest = sfn.list_executions(stateMachineArn=v1, maxResults=1, nextToken=page["nextToken"])
    assert [e["name"] for e in rest["executions"]] == ["on-v1"] and "nextToken" not in rest


def test_list_executions_by_version_or_alias_arn_after_a_restart(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'sfn.db'}"
    first = ServeProcess("--store", store)
    try:
        machine, v1, v2, alias, _ = _started(client(first.url))
    finally:
        first.stop()
    second = ServeProcess("--store", store)
    try:
        _check_listing(client(second.url), machine, v1, v2, alias)
    finally:
        code, err = second.stop()
    assert code == 0 and "Traceback" not in err


def test_describe_state_machine_for_an_execution_started_on_a_version(sfn: Any) -> None:
    machine, v1, _, _, executions = _started(sfn)
    # The model's answer has no version or alias member: the machine's ARN, the version's revision.
    for name in ("on-v1", "on-alias"):
        d = sfn.describe_state_machine_for_execution(executionArn=executions[name])
        assert d["stateMachineArn"] == machine and json.loads(d["definition"]) == json.loads(
            pass_machine(v=1)
        )
        assert d["revisionId"] == sfn.describe_state_machine(stateMachineArn=v1)["revisionId"]
        assert "stateMachineVersionArn" not in d and "stateMachineAliasArn" not in d
    current = sfn.describe_state_machine_for_execution(executionArn=executions["plain"])
    assert json.loads(current["definition"]) == json.loads(pass_machine(v=2))


@pytest.mark.skipif(AWS is None, reason="the AWS CLI is installed with the dev extras")
def test_aliases_through_the_aws_cli(sfn: Any, api: Any, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="AKIDCLI",
        AWS_SECRET_ACCESS_KEY="cli-secret",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
        AWS_PAGER="",
        AWS_MAX_ATTEMPTS="1",
    )

    def aws(*args: str, ok: bool = True) -> Any:
        assert AWS is not None
        proc = subprocess.run(
            [AWS, "stepfunctions", *args, "--endpoint-url", api.url, "--output", "json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert (proc.returncode == 0) == ok, proc.stderr
        return json.loads(proc.stdout) if ok and proc.stdout.strip() else proc.stderr

    created = aws(
        "create-state-machine",
        "--name",
        "cli",
        "--definition",
        pass_machine(v=1),
        "--role-arn",
        ROLE,
        "--publish",
    )
    machine, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
    routing = json.dumps([{"stateMachineVersionArn": v1, "weight": 100}])
    alias = aws("create-state-machine-alias", "--name", "live", "--routing-configuration", routing)[
        "stateMachineAliasArn"
    ]
    assert alias == f"{machine}:live"
    aws("update-state-machine-alias", "--state-machine-alias-arn", alias, "--description", "moved")
    d = aws("describe-state-machine-alias", "--state-machine-alias-arn", alias)
    assert (d["name"], d["description"], d["routingConfiguration"]) == ("live", "moved", json.loads(routing))
    listed = aws("list-state-machine-aliases", "--state-machine-arn", machine)["stateMachineAliases"]
    assert [a["stateMachineAliasArn"] for a in listed] == [alias]
    ex = aws("start-execution", "--state-machine-arn", alias, "--name", "via-cli")["executionArn"]
    assert finished(sfn, ex)["stateMachineAliasArn"] == alias
    assert [e["name"] for e in aws("list-executions", "--state-machine-arn", alias)["executions"]] == [
        "via-cli"
    ]
    assert "ConflictException" in aws(
        "delete-state-machine-version", "--state-machine-version-arn", v1, ok=False
    )
    aws("delete-state-machine-alias", "--state-machine-alias-arn", alias)
    assert "ResourceNotFound" in aws(
        "describe-state-machine-alias", "--state-machine-alias-arn", alias, ok=False
    )


async def test_aliases_through_aioboto3() -> None:
    async with ApiServer(port=0) as server:
        session = aioboto3.Session(
            aws_access_key_id="AKIDASYNC", aws_secret_access_key="s", region_name="us-east-1"
        )
        async with session.client("stepfunctions", endpoint_url=server.url, config=CLIENT_CONFIG) as sfn:
            created = await sfn.create_state_machine(
                name="async", definition=pass_machine(v=1), roleArn=ROLE, publish=True
            )
            machine, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
            alias = (
                await sfn.create_state_machine_alias(
                    name="live", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}]
                )
            )["stateMachineAliasArn"]
            d = await sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
            assert d["routingConfiguration"] == [{"stateMachineVersionArn": v1, "weight": 100}]
            ex = (await sfn.start_execution(stateMachineArn=alias, name="via-async"))["executionArn"]
            while (described := await sfn.describe_execution(executionArn=ex))["status"] == "RUNNING":
                pass
            assert (described["stateMachineAliasArn"], described["stateMachineVersionArn"]) == (alias, v1)
            listed = (await sfn.list_executions(stateMachineArn=alias))["executions"]
            assert [e["name"] for e in listed] == ["via-async"]
            await sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
            with pytest.raises(ClientError) as exc:
                await sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
            assert exc.value.response["Error"]["Code"] == "ResourceNotFound"
            assert [
                a
                for a in (await sfn.list_state_machine_aliases(stateMachineArn=machine))[
                    "stateMachineAliases"
                ]
            ] == []
