"""An EKS control-plane simulator: clusters, managed node groups and Fargate profiles.

Public surface: :class:`EksSimulator` (the server, an async context manager),
:class:`Timings` and :class:`FailureRule` (how long phases take and which
fail), :class:`EksError`, :data:`MAX_TOKEN_TTL_SECONDS` and :data:`Runtime`.
Layout, one concept per module:

* ``server``: the twelve REST-JSON routes, SigV4 and IAM in front, the Python API;
* ``clusters``: CreateCluster/DeleteCluster rules and documents, cluster records,
  each ACTIVE cluster's Kubernetes API server;
* ``compute``: node groups and Fargate profiles, one creation and one deletion
  path parametrised by kind;
* ``lifecycle``: timings, injected failures, the background tasks of each phase;
* ``aws_auth``: EKS's edits of a cluster's ``aws-auth`` ConfigMap over its API;
* ``wire``: request members, list pages, document copies; ``errors``: EKS's error answers.

The AWS protocols underneath (SigV4, the bearer token, ARNs, identities, IAM
policies, the ``aws-auth`` format) are in :mod:`sim.aws`.
"""

from sim.eks.clusters import MAX_TOKEN_TTL_SECONDS, Runtime
from sim.eks.errors import EksError
from sim.eks.lifecycle import FailureRule, Phase, ResourceKind, Timings
from sim.eks.server import EksSimulator

__all__ = [
    "MAX_TOKEN_TTL_SECONDS",
    "EksError",
    "EksSimulator",
    "FailureRule",
    "Phase",
    "ResourceKind",
    "Runtime",
    "Timings",
]
