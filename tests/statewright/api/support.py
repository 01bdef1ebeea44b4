"""Helpers the API server tests share (fixtures are in ``conftest.py``).

* ``finished`` — DescribeExecution once an execution has left RUNNING.
* ``pass_chain`` — a definition of ``n`` Pass states in a row.
* ``error_code`` — the AWS error code of a ``ClientError`` a test caught.
* ``raw`` — one plain HTTP request to the server, for what boto3 would refuse to send.
* ``ServeProcess`` — ``statewright serve --port 0`` in a subprocess, with the URL it printed.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.statewright.api.conftest import ThreadedApi

FINISH_SECONDS = 20


def finished(sfn: Any, arn: str) -> dict[str, Any]:
    """DescribeExecution once the execution has left RUNNING (bounded)."""
    deadline = time.monotonic() + FINISH_SECONDS
    while True:
        d: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING" or time.monotonic() > deadline:
            return d
        time.sleep(0.02)


def pass_chain(n: int) -> str:
    """A definition of ``n`` Pass states in a row, ``S0`` … ``S{n-1}``, each adding its ``$.s{i}``."""
    states: dict[str, Any] = {}
    for i in range(n):
        states[f"S{i}"] = {"Type": "Pass", "Result": i, "ResultPath": f"$.s{i}"}
        if i + 1 < n:
            states[f"S{i}"]["Next"] = f"S{i + 1}"
        else:
            states[f"S{i}"]["End"] = True
    return json.dumps({"StartAt": "S0", "States": states})


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def raw(
    api: ThreadedApi, body: bytes, target: str | None, *, method: str = "POST", path: str = "/"
) -> tuple[int, dict[str, Any]]:
    """One plain HTTP request: (status, decoded JSON body)."""
    u = urlsplit(api.url)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=30)
    headers = {"Content-Type": "application/x-amz-json-1.0"}
    if target is not None:
        headers["X-Amz-Target"] = target
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    assert resp.getheader("Content-Type", "").startswith("application/x-amz-json-1.0")
    return resp.status, json.loads(data)


class ServeProcess:
    """``statewright serve --port 0 ARGS`` in a subprocess; ``url`` is where it listens."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "statewright", "serve", "--port", "0", *args],
            stderr=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()
        m = re.search(r"listening on (http://\S+)", line)
        assert m, line
        self.url = m.group(1)

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, err
