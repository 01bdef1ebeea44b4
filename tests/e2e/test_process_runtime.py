"""The seed's pi Job under the process runtime: ``perl -Mbignum=bpi -wle 'print bpi(2000)'`` really runs.

``examples/seed/run-job.json`` runs unchanged on simulators started with
``runtime="process"`` (what ``--runtime process`` does), and its RawLogs log
must start with the digits of pi. bpi(2000) needs a Math::BigInt without the
crash of Debian 12's stock one (Debian package ``libmath-bigint-perl``); it
takes about ten seconds of CPU, so this is the only test that runs it. A
machine without a working perl fails this test with a message saying what to
install: the README's first command depends on it.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from typing import Any, Final

import anyio
import pytest

from sim.stack import Simulators
from tests.e2e.support import cluster_input, condition_true, e2e_engine, seed_example

PI_PREFIX: Final = "3.14159265358979323846"
PERL_COMMAND: Final = "perl -Mbignum=bpi -wle 'print bpi(2000)'"
INSTALL_HINT: Final = (
    f"the process runtime's pi Job needs `{PERL_COMMAND}` to work on this machine "
    "(Debian/Ubuntu: apt-get install perl libmath-bigint-perl)"
)


@pytest.fixture
def simulators_options() -> dict[str, Any]:
    return {"runtime": "process"}


async def test_the_seed_pi_job_prints_the_digits_of_pi_under_the_process_runtime(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    assert shutil.which("perl") is not None, f"perl is not installed: {INSTALL_HINT}"
    probe = await anyio.run_process(["perl", "-Mbignum=bpi", "-e", "1"], check=False)
    assert probe.returncode == 0, (
        f"perl cannot load bignum ({probe.stderr.decode(errors='replace')}): {INSTALL_HINT}"
    )

    async with e2e_engine() as engine:
        result = await engine.run(seed_example("run-job"), cluster_input(simulators))

    assert result.status == "SUCCEEDED", f"{result.error}: {result.cause} — {INSTALL_HINT}"
    job = result.output
    assert isinstance(job, dict)
    assert condition_true(job, "Complete")
    (pod,) = job["logs"]["pods"].values()
    log = pod["containers"]["pi-2000"]["log"]
    assert isinstance(log, str)
    assert log.startswith(PI_PREFIX), f"the log starts {log[:60]!r}, not with pi: {INSTALL_HINT}"
    digits = log.strip()
    assert len(digits) == 2001, "2,000 significant digits and the decimal point"
    assert digits[2:].isdigit()
