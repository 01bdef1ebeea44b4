"""statewright's executors: service integrations behind the engine's executor protocol.

The supported API is what ``__all__`` lists; module names below it are private
layout. The EKS integration lives in ``executors.eks``: ``EksExecutor`` and
``register`` (the ``statewright.executors`` entry point), the shared
``EksServices``, the bearer-token and TLS plumbing, the error mapping and the
polling policies.
"""

from executors.eks import RESOURCE_PATTERNS, EksExecutor, register
from executors.eks.auth import KubeConnections, TokenProvider, ssl_context_for_ca
from executors.eks.errors import (
    TransientEksError,
    eks_api_errors,
    kube_connection_errors,
    kube_http_error,
    task_failed,
)
from executors.eks.polling import (
    AwsPollPolicy,
    ExponentialPollPolicy,
    FixedPollPolicy,
    PollPolicy,
    parse_poll_policy,
    policy_for,
    poll_policy_names,
    poll_until,
    register_poll_policy,
)
from executors.eks.services import EksServices

__all__ = [
    "RESOURCE_PATTERNS",
    "AwsPollPolicy",
    "EksExecutor",
    "EksServices",
    "ExponentialPollPolicy",
    "FixedPollPolicy",
    "KubeConnections",
    "PollPolicy",
    "TokenProvider",
    "TransientEksError",
    "eks_api_errors",
    "kube_connection_errors",
    "kube_http_error",
    "parse_poll_policy",
    "policy_for",
    "poll_policy_names",
    "poll_until",
    "register",
    "register_poll_policy",
    "ssl_context_for_ca",
    "task_failed",
]
