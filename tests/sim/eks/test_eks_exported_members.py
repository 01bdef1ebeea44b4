"""``sim.eks`` exports exactly its documented surface, whatever its module files."""

from __future__ import annotations

import sim.eks


def test_the_eks_simulator_package_exports_exactly_its_api() -> None:
    assert sim.eks.__all__ == [
        "MAX_TOKEN_TTL_SECONDS",
        "EksError",
        "EksSimulator",
        "FailureRule",
        "Phase",
        "ResourceKind",
        "Runtime",
        "Timings",
    ]
    assert sim.eks.EksSimulator.__module__ == "sim.eks.server"
    assert sim.eks.Timings.__module__ == sim.eks.FailureRule.__module__ == "sim.eks.lifecycle"
    assert sim.eks.EksError.__module__ == "sim.eks.errors"
