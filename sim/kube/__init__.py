"""A Kubernetes API server simulator, faithful enough for kubectl and the EKS integration.

Public surface: :class:`KubeSimulator` (one API server, an async context manager),
:class:`AwsIdentity` and :data:`IdentityResolver` (how the EKS simulator tells who
presented a token), :class:`FaultConfig` (re-exported) and the workload-model
annotation names. Layout, top to bottom (an import-linter contract keeps it):
``simulator`` (wiring) and ``process`` (in a child process); ``api/`` (HTTP:
routes, lists, watch, logs, reviews); ``kubectl/`` (what only kubectl needs:
discovery, OpenAPI, Tables, protobuf); ``jobs`` (the Job controller),
``kubelet/`` (pods, containers, logs), ``rbac`` (authorization); ``auth``
(EKS-style authentication); ``registry`` (create, replace, patch); ``deletion`` (propagation,
finalizers, garbage collection, namespaces); ``objects``, ``strategies``
(per-kind defaults and validation), ``patch``; ``store`` (objects,
resourceVersions, watch fan-out); ``selectors``, ``resources``, ``errors``.
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
