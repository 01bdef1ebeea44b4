"""``python -m sim.kube`` serves in the foreground, tells its URL and token, and writes a kubeconfig."""

from __future__ import annotations

import asyncio
import base64
import signal
import ssl
import sys
from pathlib import Path

import aiohttp
import yaml


async def test_the_module_serves_until_terminated_and_writes_a_kubeconfig(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sim.kube",
        "--token",
        "t0ken",
        "--kubeconfig",
        str(kubeconfig),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        lines = [(await asyncio.wait_for(process.stdout.readline(), 20)).decode().strip() for _ in range(3)]
        fields = dict(line.split(": ", 1) for line in lines)
        context = ssl.create_default_context(cadata=base64.b64decode(fields["ca"]).decode())
        async with aiohttp.ClientSession() as session:
            async with session.get(
                fields["url"] + "/api/v1/namespaces",
                ssl=context,
                headers={"Authorization": f"Bearer {fields['token']}"},
            ) as response:
                assert response.status == 200
        config = yaml.safe_load(kubeconfig.read_text())
        assert config["users"][0]["user"]["token"] == "t0ken"
        assert config["clusters"][0]["cluster"]["server"] == fields["url"]
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
