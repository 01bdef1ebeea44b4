"""A cluster's reference for an input: its name, API endpoint and certificate authority.

The EKS resources that talk to the Kubernetes API (``eks:runJob``, ``eks:call``)
take ``ClusterName``, ``Endpoint`` and ``CertificateAuthority`` as parameters,
which on AWS come from a DescribeCluster answer. ``statewright run
--describe-cluster NAME`` asks EKS for them once, before the execution starts,
so a definition written that way runs unchanged against AWS or the simulators,
whose endpoints and CA exist only while they run.
"""

from __future__ import annotations

from typing import Any

from engine.errors import TaskFailed
from executors.eks.errors import eks_api_errors
from executors.eks.services import EksServices


async def describe_cluster_reference(name: str, services: EksServices | None = None) -> dict[str, str]:
    """``{"Name", "Endpoint", "CertificateAuthority"}`` of the ACTIVE cluster ``name``.

    ``CertificateAuthority`` is the base64 PEM bundle EKS reports (``certificateAuthority.data``),
    the form the EKS resources take. Services are built from boto3's standard configuration
    when none are given, and closed again.

    Raises:
        StatesError: EKS refused (``EKS.ResourceNotFoundException`` for an unknown cluster), could
            not be reached, or the cluster has no endpoint yet (it is still being created).
    """
    own = services is None
    active = EksServices.default() if services is None else services
    try:
        eks = await active.eks_client()
        with eks_api_errors():
            answer: dict[str, Any] = await eks.describe_cluster(name=name)
    finally:
        if own:
            await active.aclose()
    cluster = answer.get("cluster", {})
    endpoint = cluster.get("endpoint")
    authority = (cluster.get("certificateAuthority") or {}).get("data")
    if not endpoint or not authority:
        raise TaskFailed(
            None, f"cluster {name} has no API endpoint yet (status {cluster.get('status', 'unknown')})"
        )
    return {
        "Name": str(cluster.get("name", name)),
        "Endpoint": str(endpoint),
        "CertificateAuthority": str(authority),
    }
