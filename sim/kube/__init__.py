"""A Kubernetes API server simulator, faithful enough for kubectl and the EKS integration.

Public surface: :class:`KubeSimulator` (one API server, an async context manager),
:class:`AwsIdentity` and :data:`IdentityResolver` (how the EKS simulator tells who
presented a token), :class:`FaultConfig` (re-exported) and the workload-model
annotation names. Layout: ``store`` (objects, resourceVersions, watch fan-out),
``registry`` (API semantics, garbage collection), ``strategies`` (per-kind
defaults and validation), ``kubelet`` (pods and logs), ``jobs`` (the Job
controller), ``auth`` (EKS-style authentication and RBAC), ``api`` (HTTP),
``discovery`` (discovery and OpenAPI).
"""

from sim.aws.identities import AwsIdentity
from sim.faults import FaultConfig
from sim.kube.auth import IdentityResolver, UserInfo
from sim.kube.kubelet import ANNOTATION_EXIT_CODE, ANNOTATION_LOG, ANNOTATION_SECONDS
from sim.kube.simulator import KubeSimulator

__all__ = [
    "ANNOTATION_EXIT_CODE",
    "ANNOTATION_LOG",
    "ANNOTATION_SECONDS",
    "AwsIdentity",
    "FaultConfig",
    "IdentityResolver",
    "KubeSimulator",
    "UserInfo",
]
