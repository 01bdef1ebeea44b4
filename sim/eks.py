"""An EKS control-plane simulator: clusters, managed node groups and Fargate profiles.

moto answers the EKS API but every resource is ACTIVE at once and nothing
fails. Workflows that create a cluster, add compute, run Jobs and tear down
need the timing and failure modes of the real service, so this simulator
serves the twelve REST-JSON operations the Step Functions integration uses
with botocore's shapes (``botocore/data/eks/2017-11-01/service-2.json``) and
a lifecycle driven by :class:`Timings`:

* cluster ``CREATING`` → ``ACTIVE`` (or ``FAILED``), ``DELETING`` → gone;
* node group and Fargate profile ``CREATING`` → ``ACTIVE`` (or
  ``CREATE_FAILED``), ``DELETING`` → gone (or ``DELETE_FAILED``);
* failures are injected by name pattern with :class:`FailureRule`.

When a cluster becomes ACTIVE it gets its own Kubernetes API server (a
:class:`sim.kube.KubeSimulator` with its own port and certificate authority);
DescribeCluster returns its URL in ``endpoint`` and its CA in
``certificateAuthority.data``. The creator (the principal that signed
CreateCluster) is the cluster's ``system:masters`` administrator without
appearing in ``aws-auth``, as on EKS. Creating a node group or Fargate profile
adds its role to the ``aws-auth`` ConfigMap (creating it if absent) through the
cluster's own Kubernetes API, authenticated as the EKS service-linked role;
deleting the last node group of a role removes that role's entry (spec §9.2).

Rules enforced as EKS does: required members and types
(``InvalidParameterException``), duplicates (``ResourceInUseException``,
except an identical retry with the same ``clientRequestToken``, which returns
the existing resource), unknown names (``ResourceNotFoundException``), compute
on a cluster that is not ACTIVE (``InvalidRequestException``), DeleteCluster
while node groups or Fargate profiles exist (``ResourceInUseException``), and
one Fargate profile per cluster CREATING or DELETING at a time. Errors carry
EKS's JSON body (``message`` and the resource names) and ``x-amzn-ErrorType``,
which is what botocore reads the error code from.

Realistic timings (:meth:`Timings.realistic`, then scaled by ``time_factor``):

===========================  ========  ===============================================================
phase                        seconds   source
===========================  ========  ===============================================================
cluster create               840       measured 13-16 min over 21 regions (easontechtalk.com, "Unofficial
                                       EKS Cluster Creation Performance"); EKS API reference: "it takes
                                       several minutes"; botocore ClusterActive waits up to 20 min
cluster delete               300       estimate ("a few minutes"; no AWS figure); botocore ClusterDeleted
                                       waits up to 20 min
node group create            180       tutorials report 2-5 min ("a few minutes"); botocore
                                       NodegroupActive waits up to 40 min
node group delete            240       estimate: instances are drained and terminated; botocore
                                       NodegroupDeleted waits up to 20 min
Fargate profile create       120       EKS workshop: "can take up to several minutes"; botocore
                                       FargateProfileActive waits up to 10 min
Fargate profile delete       120       estimate, same order as create; botocore waits up to 30 min
===========================  ========  ===============================================================

The default (:meth:`Timings.fast`) keeps every phase well under a second for tests.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import fnmatch
import json
import logging
import re
import secrets
import socket
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

from sim.aws import aws_auth
from sim.aws.arns import ROLE_ARN_RE, canonicalize_arn
from sim.aws.iam import Decision, PolicySet, denial_message
from sim.aws.identities import (
    AwsIdentity,
    Identity,
    IdentityRegistry,
    UnknownAccessKeyError,
    random_access_key_id,
    random_secret_access_key,
)
from sim.aws.sigv4 import SigV4Error, SigV4Problem
from sim.aws.times import utc_now
from sim.aws.token import TokenError, make_eks_token
from sim.faults import Fault, FaultConfig
from sim.kube import KubeSimulator
from sim.server import LOOPBACK, SimServer
from sim.sts import StsSimulator
from sim.tls import CertificateAuthority

_log = logging.getLogger(__name__)

JsonObject = dict[str, Any]
ResourceKind = Literal["cluster", "nodegroup", "fargate_profile"]
Phase = Literal["create", "delete"]
Runtime = Literal["model", "process"]

DEFAULT_KUBERNETES_VERSION: Final = "1.33"
DEFAULT_PLATFORM_VERSION: Final = "eks.9"
SERVICE_ROLE_PATH: Final = "aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS"
LOG_TYPES: Final = ("api", "audit", "authenticator", "controllerManager", "scheduler")
MAX_FARGATE_SELECTORS: Final = 5
MAX_SELECTOR_LABELS: Final = 5
MAX_TAGS: Final = 50
MAX_TOKEN_TTL_SECONDS: Final = 900.0
"""STS never accepts a presigned GetCallerIdentity older than 15 minutes (spec §10.1)."""
#: Enough for the edit to get through a cluster configured with heavy injected faults.
AWS_AUTH_ATTEMPTS: Final = 20

_CLUSTER_NAME_RE: Final = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]*$")
_COMPUTE_NAME_RE: Final = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]*$")
_VERSION_RE: Final = re.compile(r"^1\.\d{1,2}$")

_AMI_TYPES: Final = frozenset(
    {
        "AL2_x86_64", "AL2_x86_64_GPU", "AL2_ARM_64", "CUSTOM", "BOTTLEROCKET_ARM_64", "BOTTLEROCKET_x86_64",
        "BOTTLEROCKET_ARM_64_FIPS", "BOTTLEROCKET_x86_64_FIPS", "BOTTLEROCKET_ARM_64_NVIDIA",
        "BOTTLEROCKET_x86_64_NVIDIA", "WINDOWS_CORE_2019_x86_64", "WINDOWS_FULL_2019_x86_64",
        "WINDOWS_CORE_2022_x86_64", "WINDOWS_FULL_2022_x86_64", "AL2023_x86_64_STANDARD",
        "AL2023_ARM_64_STANDARD", "AL2023_x86_64_NEURON", "AL2023_x86_64_NVIDIA", "AL2023_ARM_64_NVIDIA",
    }
)  # fmt: skip
_CAPACITY_TYPES: Final = frozenset({"ON_DEMAND", "SPOT", "CAPACITY_BLOCK"})
_TAINT_EFFECTS: Final = frozenset({"NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"})
_AUTH_MODES: Final = frozenset({"API", "API_AND_CONFIG_MAP", "CONFIG_MAP"})
_IP_FAMILIES: Final = frozenset({"ipv4", "ipv6"})

_NODE_GROUPS: Final = ("system:bootstrappers", "system:nodes")
_FARGATE_GROUPS: Final = ("system:bootstrappers", "system:nodes", "system:node-proxier")


# -- configuration -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Timings:
    """How long each lifecycle phase takes, in seconds, before ``time_factor`` is applied.

    Attributes:
        cluster_create: CREATING → ACTIVE (or FAILED).
        cluster_delete: DELETING → gone.
        nodegroup_create: CREATING → ACTIVE (or CREATE_FAILED).
        nodegroup_delete: DELETING → gone (or DELETE_FAILED).
        fargate_profile_create: CREATING → ACTIVE (or CREATE_FAILED).
        fargate_profile_delete: DELETING → gone (or DELETE_FAILED).
        time_factor: Multiplies every duration (0.01 runs the realistic profile 100 times faster).
    """

    cluster_create: float = 0.5
    cluster_delete: float = 0.2
    nodegroup_create: float = 0.3
    nodegroup_delete: float = 0.2
    fargate_profile_create: float = 0.3
    fargate_profile_delete: float = 0.2
    time_factor: float = 1.0

    def __post_init__(self) -> None:
        for name in (
            "cluster_create", "cluster_delete", "nodegroup_create", "nodegroup_delete",
            "fargate_profile_create", "fargate_profile_delete", "time_factor",
        ):  # fmt: skip
            if getattr(self, name) < 0:
                raise ValueError(f"Timings.{name} must not be negative")

    @classmethod
    def fast(cls, time_factor: float = 1.0) -> Timings:
        """Sub-second phases for tests (the default)."""
        return cls(time_factor=time_factor)

    @classmethod
    def realistic(cls, time_factor: float = 1.0) -> Timings:
        """Durations of the real service (see the module docstring for sources)."""
        return cls(
            cluster_create=840.0,
            cluster_delete=300.0,
            nodegroup_create=180.0,
            nodegroup_delete=240.0,
            fargate_profile_create=120.0,
            fargate_profile_delete=120.0,
            time_factor=time_factor,
        )

    @classmethod
    def named(cls, profile: str, time_factor: float = 1.0) -> Timings:
        """``fast`` or ``realistic`` by name (the ``--timings`` option).

        Raises:
            ValueError: unknown profile name.
        """
        if profile == "fast":
            return cls.fast(time_factor)
        if profile == "realistic":
            return cls.realistic(time_factor)
        raise ValueError(f"unknown timings profile {profile!r}; use 'fast' or 'realistic'")

    def scaled(self, time_factor: float) -> Timings:
        """A copy with another ``time_factor``."""
        return replace(self, time_factor=time_factor)

    def seconds(self, kind: ResourceKind, phase: Phase) -> float:
        """The scaled duration of one phase of one resource kind."""
        base: float = getattr(self, f"{kind}_{phase}")
        return base * self.time_factor


_DEFAULT_ISSUES: Final[Mapping[tuple[ResourceKind, Phase], tuple[str, str]]] = {
    ("cluster", "create"): ("InternalFailure", "The cluster control plane could not be provisioned."),
    ("cluster", "delete"): ("InternalFailure", "The cluster could not be deleted."),
    ("nodegroup", "create"): ("NodeCreationFailure", "Instances failed to join the kubernetes cluster"),
    ("nodegroup", "delete"): (
        "NodeTerminationFailure",
        "The node group's instances could not be terminated.",
    ),
    ("fargate_profile", "create"): ("InternalFailure", "The Fargate profile could not be created."),
    ("fargate_profile", "delete"): ("InternalFailure", "The Fargate profile could not be deleted."),
}


@dataclass(frozen=True)
class FailureRule:
    """Make matching resources fail a lifecycle phase.

    A cluster that fails to create ends ``FAILED``; a node group or Fargate
    profile ends ``CREATE_FAILED``; a failed delete leaves a node group or
    profile ``DELETE_FAILED`` and a cluster ``FAILED``. The resource's
    ``health.issues`` holds one issue with ``code`` and ``message``.

    Attributes:
        kind: ``cluster``, ``nodegroup`` or ``fargate_profile``.
        name_pattern: A shell-style pattern (:mod:`fnmatch`) matched against the resource's name.
        phase: ``create`` or ``delete``.
        issue_code: The health issue code (a value of botocore's issue-code enum); a default per kind.
        message: The health issue message; a default per kind.
        times: Fail only the first ``times`` matching attempts; None fails every one.
    """

    kind: ResourceKind
    name_pattern: str
    phase: Phase = "create"
    issue_code: str | None = None
    message: str | None = None
    times: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("cluster", "nodegroup", "fargate_profile"):
            raise ValueError(
                f"FailureRule.kind must be cluster, nodegroup or fargate_profile, not {self.kind!r}"
            )
        if self.phase not in ("create", "delete"):
            raise ValueError(f"FailureRule.phase must be create or delete, not {self.phase!r}")

    def issue(self, resource_id: str) -> JsonObject:
        """The ``health.issues`` entry this rule produces."""
        code, message = _DEFAULT_ISSUES[(self.kind, self.phase)]
        return {
            "code": self.issue_code or code,
            "message": self.message or message,
            "resourceIds": [resource_id],
        }


# -- errors ------------------------------------------------------------------------------------


class EksError(Exception):
    """An EKS error answer: HTTP status, ``x-amzn-ErrorType`` code, message and resource fields."""

    def __init__(self, status: int, code: str, message: str, **fields: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields

    def response(self) -> web.Response:
        """The HTTP answer botocore parses into ``ClientError`` with this code."""
        request_id = str(uuid.uuid4())
        body = {"message": self.message, **self.fields}
        return web.Response(
            status=self.status,
            text=json.dumps(body),
            content_type="application/json",
            headers={"x-amzn-ErrorType": self.code, "x-amzn-RequestId": request_id},
        )


def _invalid_parameter(message: str, **fields: str) -> EksError:
    return EksError(400, "InvalidParameterException", message, **fields)


def _invalid_request(message: str, **fields: str) -> EksError:
    return EksError(400, "InvalidRequestException", message, **fields)


def _in_use(message: str, **fields: str) -> EksError:
    return EksError(409, "ResourceInUseException", message, **fields)


def _not_found(message: str, **fields: str) -> EksError:
    return EksError(404, "ResourceNotFoundException", message, **fields)


_SIGV4_ERRORS: Final[Mapping[SigV4Problem, tuple[int, str]]] = {
    SigV4Problem.MISSING: (403, "MissingAuthenticationTokenException"),
    SigV4Problem.MALFORMED: (403, "IncompleteSignatureException"),
    SigV4Problem.BAD_SIGNATURE: (403, "InvalidSignatureException"),
    SigV4Problem.EXPIRED: (403, "InvalidSignatureException"),
}


# -- request validation ------------------------------------------------------------------------


class _Members:
    """Typed access to a request's JSON members; every violation is an InvalidParameterException."""

    def __init__(self, body: JsonObject, **fields: str) -> None:
        self._body = body
        self._fields = fields

    def _bad(self, message: str) -> EksError:
        return _invalid_parameter(message, **self._fields)

    def present(self, key: str) -> bool:
        return self._body.get(key) is not None

    def string(self, key: str, *, required: bool = False) -> str | None:
        value = self._body.get(key)
        if value is None:
            if required:
                raise self._bad(f"{key} is required and cannot be null or empty.")
            return None
        if not isinstance(value, str):
            raise self._bad(f"{key} must be a string.")
        if required and not value:
            raise self._bad(f"{key} is required and cannot be null or empty.")
        return value

    def required_string(self, key: str) -> str:
        value = self.string(key, required=True)
        assert value is not None
        return value

    def enum(self, key: str, allowed: Iterable[str]) -> str | None:
        value = self.string(key)
        if value is not None and value not in allowed:
            raise self._bad(f"{key} {value!r} is not one of {sorted(allowed)}.")
        return value

    def boolean(self, key: str) -> bool | None:
        value = self._body.get(key)
        if value is not None and not isinstance(value, bool):
            raise self._bad(f"{key} must be a boolean.")
        return value

    def integer(self, key: str, *, minimum: int | None = None, maximum: int | None = None) -> int | None:
        value = self._body.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(f"{key} must be an integer.")
        if minimum is not None and value < minimum:
            raise self._bad(f"{key} must be greater than or equal to {minimum}.")
        if maximum is not None and value > maximum:
            raise self._bad(f"{key} must be less than or equal to {maximum}.")
        return value

    def strings(self, key: str, *, required: bool = False, non_empty: bool = False) -> list[str] | None:
        value = self._body.get(key)
        if value is None:
            if required:
                raise self._bad(f"{key} is required and cannot be null or empty.")
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self._bad(f"{key} must be a list of strings.")
        if non_empty and not value:
            raise self._bad(f"{key} is required and cannot be null or empty.")
        return list(value)

    def obj(self, key: str, *, required: bool = False) -> _Members | None:
        value = self._body.get(key)
        if value is None:
            if required:
                raise self._bad(f"{key} is required and cannot be null or empty.")
            return None
        if not isinstance(value, dict):
            raise self._bad(f"{key} must be an object.")
        return _Members(value, **self._fields)

    def raw(self, key: str) -> Any:
        return self._body.get(key)

    def string_map(
        self, key: str, *, min_entries: int = 0, max_entries: int | None = None, max_length: int | None = None
    ) -> dict[str, str] | None:
        value = self._body.get(key)
        if value is None:
            return None
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise self._bad(f"{key} must be a map of strings to strings.")
        if len(value) < min_entries or (max_entries is not None and len(value) > max_entries):
            raise self._bad(f"{key} must have between {min_entries} and {max_entries} entries.")
        if max_length is not None and any(
            len(k) > max_length or len(v) > max_length for k, v in value.items()
        ):
            raise self._bad(f"{key} keys and values must be at most {max_length} characters.")
        return dict(value)

    def tags(self) -> dict[str, str]:
        return self.string_map("tags", min_entries=1, max_entries=MAX_TAGS) or {}


# -- resources ---------------------------------------------------------------------------------


def _now_epoch() -> float:
    return round(time.time(), 3)


def _short_id(length: int = 17) -> str:
    return secrets.token_hex(length)[:length]


@dataclass
class _Compute:
    """A node group or Fargate profile: its wire document and lifecycle bookkeeping."""

    kind: ResourceKind
    name: str
    doc: JsonObject
    role_arn: str
    client_request_token: str | None

    @property
    def status(self) -> str:
        status: str = self.doc["status"]
        return status


@dataclass
class _Cluster:
    name: str
    doc: JsonObject
    creator_arn: str
    admin_creator: bool
    client_request_token: str | None
    nodegroups: dict[str, _Compute] = field(default_factory=dict)
    fargate_profiles: dict[str, _Compute] = field(default_factory=dict)
    kube: KubeSimulator | None = None
    aws_auth_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    private_endpoint: socket.socket | None = None
    """For a cluster without public access: the bound, never-listening socket its endpoint names."""

    def close_private_endpoint(self) -> None:
        sock, self.private_endpoint = self.private_endpoint, None
        if sock is not None:
            sock.close()

    @property
    def status(self) -> str:
        status: str = self.doc["status"]
        return status


def _unreachable_socket() -> socket.socket:
    """A loopback port that is taken but refuses every connection (bound, never listening)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((LOOPBACK, 0))
    return sock


def _wire(doc: JsonObject) -> JsonObject:
    return json.loads(json.dumps(doc))  # type: ignore[no-any-return]


# -- the simulator -----------------------------------------------------------------------------


class EksSimulator(SimServer):
    """The EKS control plane, one Kubernetes API server per ACTIVE cluster.

    Args:
        identities: The known principals (shared with the STS simulator).
        sts: The STS simulator that resolves the clusters' bearer tokens.
        region: The region in ARNs and OIDC issuers.
        timings: Lifecycle durations; :meth:`Timings.fast` by default.
        failures: Failure rules, matched in order (more can be added with :meth:`add_failure`).
        runtime: Passed to each cluster's :class:`KubeSimulator` (``model`` or ``process``).
        kube_faults: Faults each cluster's Kubernetes API server injects.
        kube_servers: Start a Kubernetes API server per ACTIVE cluster (default); False gives
            control-plane-only clusters without an endpoint.
        ca: The certificate authority for this server's HTTPS; a new one when None and ``tls``.
        tls: Serve HTTPS (default). Plain HTTP only when explicitly False.
        faults: Faults this EKS endpoint injects.
        policies: IAM policies per principal; a principal with one may call only what it
            allows (``AccessDeniedException`` otherwise), principals without one are unrestricted.
        token_ttl: The clusters' API servers refuse (401) bearer tokens signed longer ago
            than this many seconds; None keeps STS's 15 minutes.
        host: Address to bind (loopback).
        port: Port to bind (0: any free port).
    """

    def __init__(
        self,
        *,
        identities: IdentityRegistry,
        sts: StsSimulator,
        region: str = "us-east-1",
        timings: Timings | None = None,
        failures: Iterable[FailureRule] = (),
        runtime: Runtime = "model",
        kube_faults: FaultConfig | None = None,
        kube_servers: bool = True,
        ca: CertificateAuthority | None = None,
        tls: bool = True,
        faults: FaultConfig | None = None,
        policies: PolicySet | None = None,
        token_ttl: float | None = None,
        host: str = LOOPBACK,
        port: int = 0,
    ) -> None:
        self.ca = ca if ca is not None or not tls else CertificateAuthority()
        self.policies = policies if policies is not None else PolicySet()
        if token_ttl is not None and not 0 < token_ttl <= MAX_TOKEN_TTL_SECONDS:
            raise ValueError(f"token_ttl must be more than 0 and at most {MAX_TOKEN_TTL_SECONDS:g} seconds")
        self.token_ttl = token_ttl

        super().__init__(
            host=host,
            port=port,
            ssl_context=self.ca.server_ssl_context() if tls and self.ca is not None else None,
            faults=faults,
        )
        self.identities = identities
        self.sts = sts
        self.region = region
        self.account = identities.default.account
        self.timings = timings if timings is not None else Timings.fast()
        self.runtime = runtime
        self.kube_faults = kube_faults
        self.kube_servers = kube_servers
        self._failures: list[FailureRule] = list(failures)
        self._failure_counts: dict[int, int] = {}
        self._clusters: dict[str, _Cluster] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.service_identity = Identity(
            access_key_id=random_access_key_id("ASIA"),
            arn=f"arn:aws:iam::{self.account}:role/{SERVICE_ROLE_PATH}",
            secret_access_key=random_secret_access_key(),
        )
        identities.add(self.service_identity)

    # -- public Python API ----------------------------------------------------------------------

    def add_failure(self, rule: FailureRule) -> None:
        """Add a failure rule (matched after the ones given at construction)."""
        self._failures.append(rule)

    def cluster(self, name: str) -> KubeSimulator:
        """The Kubernetes API server of an ACTIVE cluster.

        Raises:
            KeyError: no such cluster, or it has no API server (not ACTIVE yet, or ``kube_servers`` off).
        """
        cluster = self._clusters.get(name)
        if cluster is None or cluster.kube is None:
            raise KeyError(f"cluster {name!r} has no Kubernetes API server (unknown or not ACTIVE)")
        return cluster.kube

    def cluster_status(self, name: str) -> str | None:
        """The status of a cluster, or None when it does not exist."""
        cluster = self._clusters.get(name)
        return cluster.status if cluster is not None else None

    def describe_cluster(self, name: str) -> JsonObject:
        """The DescribeCluster ``cluster`` document, in-process.

        Raises:
            EksError: ResourceNotFoundException.
        """
        return _wire(self._get_cluster(name).doc)

    async def create_cluster(
        self, request: JsonObject, *, creator: Identity | None = None, immediate: bool = False
    ) -> JsonObject:
        """Run CreateCluster in-process (as ``creator``, the default identity when None).

        Args:
            request: The CreateCluster request members (``name``, ``roleArn``, ``resourcesVpcConfig``…).
            creator: The principal that becomes the cluster's administrator.
            immediate: Skip the CREATING delay (a cluster that already existed, such as the demo one).

        Returns:
            The ``cluster`` document (status CREATING).

        Raises:
            EksError: the error CreateCluster answers over HTTP.
        """
        return self._create_cluster(request, creator or self.identities.default, immediate=immediate)

    async def wait_cluster_active(self, name: str) -> JsonObject:
        """Wait until a cluster leaves CREATING; return its document.

        Raises:
            EksError: the cluster is gone or ended in another status than ACTIVE.
        """
        while True:
            cluster = self._get_cluster(name)
            if cluster.status == "ACTIVE":
                return _wire(cluster.doc)
            if cluster.status != "CREATING":
                raise _invalid_request(f"Cluster {name} ended in status {cluster.status}.", clusterName=name)
            await asyncio.sleep(min(0.05, max(self.timings.seconds("cluster", "create") / 10, 0.005)))

    # -- HTTP ------------------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        """Routes of the twelve operations, behind the SigV4 middleware."""
        app = web.Application(middlewares=[self._auth_middleware], client_max_size=1024**2)
        add = app.router.add_route
        add("POST", "/clusters", self._http_create_cluster)
        add("GET", "/clusters", self._http_list_clusters)
        add("GET", "/clusters/{name}", self._http_describe_cluster)
        add("DELETE", "/clusters/{name}", self._http_delete_cluster)
        add("POST", "/clusters/{name}/node-groups", self._http_create_nodegroup)
        add("GET", "/clusters/{name}/node-groups", self._http_list_nodegroups)
        add("GET", "/clusters/{name}/node-groups/{item}", self._http_describe_nodegroup)
        add("DELETE", "/clusters/{name}/node-groups/{item}", self._http_delete_nodegroup)
        add("POST", "/clusters/{name}/fargate-profiles", self._http_create_fargate_profile)
        add("GET", "/clusters/{name}/fargate-profiles", self._http_list_fargate_profiles)
        add("GET", "/clusters/{name}/fargate-profiles/{item}", self._http_describe_fargate_profile)
        add("DELETE", "/clusters/{name}/fargate-profiles/{item}", self._http_delete_fargate_profile)
        return app

    def fault_response(self, fault: Fault, request: web.Request) -> web.StreamResponse:
        """Injected faults answer with EKS's codes, which botocore retries."""
        if fault is Fault.THROTTLE:
            return EksError(429, "TooManyRequestsException", "Rate exceeded").response()
        if fault is Fault.INTERNAL_ERROR:
            return EksError(500, "ServerException", "An internal error occurred.").response()
        return EksError(503, "ServiceUnavailableException", "Service is unavailable.").response()

    _IDENTITY_KEY: Final = web.RequestKey("eks_identity", Identity)

    @web.middleware
    async def _auth_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.read()
        headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        try:
            try:
                identity, _info = self.identities.authenticate(
                    method=request.method,
                    raw_path=request.raw_path.split("?", 1)[0],
                    query_string=request.query_string,
                    headers=headers,
                    body=body,
                    service="eks",
                    now=utc_now(),
                )
            except SigV4Error as exc:
                status, code = _SIGV4_ERRORS[exc.problem]
                message = (
                    "Missing Authentication Token" if exc.problem is SigV4Problem.MISSING else exc.message
                )
                raise EksError(status, code, message) from None
            except UnknownAccessKeyError as exc:
                raise EksError(403, "UnrecognizedClientException", str(exc)) from None
            request[self._IDENTITY_KEY] = identity
            return await handler(request)
        except EksError as error:
            return error.response()
        except web.HTTPException as exc:
            if exc.status == 404:
                return EksError(404, "UnknownOperationException", "Unknown operation.").response()
            if exc.status == 405:
                return EksError(405, "UnknownOperationException", "Unknown operation.").response()
            raise

    @staticmethod
    async def _json_body(request: web.Request) -> JsonObject:
        raw = await request.read()
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise EksError(400, "SerializationException", "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise EksError(400, "SerializationException", "The request body must be a JSON object.")
        return body

    @staticmethod
    def _ok(document: JsonObject) -> web.Response:
        return web.Response(
            text=json.dumps(document),
            content_type="application/json",
            headers={"x-amzn-RequestId": str(uuid.uuid4())},
        )

    # -- IAM -------------------------------------------------------------------------------------

    def _authorize(
        self, request: web.Request, action: str, resource: str, context: Mapping[str, str] | None = None
    ) -> None:
        """Refuse with EKS's 403 ``AccessDeniedException`` what the caller's policy does not allow."""
        if not self.policies:
            return
        identity: Identity = request[self._IDENTITY_KEY]
        policy = self.policies.policy_for(canonicalize_arn(identity.arn))
        if policy is None:
            return
        keys = {
            "aws:PrincipalArn": canonicalize_arn(identity.arn),
            "aws:PrincipalAccount": identity.account,
            "aws:RequestedRegion": self.region,
            **(context or {}),
        }
        decision = policy.evaluate(action, resource, keys)
        if decision is not Decision.ALLOWED:
            caller = identity.caller_identity().arn
            raise EksError(403, "AccessDeniedException", denial_message(caller, action, resource, decision))

    def _authorize_pass_role(self, request: web.Request, role: Any) -> None:
        # EKS checks iam:PassRole for the role a request hands it (spec §3.1, §3.3, §3.5).
        if isinstance(role, str) and role:
            self._authorize(request, "iam:PassRole", role, {"iam:PassedToService": "eks.amazonaws.com"})

    def _arn(self, kind: str, *names: str) -> str:
        return f"arn:aws:eks:{self.region}:{self.account}:{kind}/{'/'.join(names)}"

    def _compute_arn(self, cluster_name: str, kind: ResourceKind, name: str) -> str:
        cluster = self._clusters.get(cluster_name)
        table = (cluster.nodegroups if kind == "nodegroup" else cluster.fargate_profiles) if cluster else {}
        item = table.get(name)
        key = "nodegroupArn" if kind == "nodegroup" else "fargateProfileArn"
        if item is not None:
            return str(item.doc[key])
        # IAM still judges a request for a missing resource; any UUID stands for the one it would have.
        arn_kind = "nodegroup" if kind == "nodegroup" else "fargateprofile"
        return self._arn(arn_kind, cluster_name, name, str(uuid.UUID(int=0)))

    # -- operations over HTTP --------------------------------------------------------------------

    async def _http_create_cluster(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        self._authorize(request, "eks:CreateCluster", self._arn("cluster", str(body.get("name") or "*")))
        self._authorize_pass_role(request, body.get("roleArn"))
        return self._ok({"cluster": self._create_cluster(body, request[self._IDENTITY_KEY])})

    async def _http_describe_cluster(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self._authorize(request, "eks:DescribeCluster", self._arn("cluster", name))
        return self._ok({"cluster": self.describe_cluster(name)})

    async def _http_delete_cluster(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self._authorize(request, "eks:DeleteCluster", self._arn("cluster", name))
        return self._ok({"cluster": self._delete_cluster(name)})

    async def _http_list_clusters(self, request: web.Request) -> web.Response:
        self._authorize(request, "eks:ListClusters", "*")
        names = list(self._clusters)
        page, token = _paginate(names, request.query)
        document: JsonObject = {"clusters": page}
        if token is not None:
            document["nextToken"] = token
        return self._ok(document)

    async def _http_create_nodegroup(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        self._authorize(request, "eks:CreateNodegroup", self._arn("cluster", request.match_info["name"]))
        self._authorize_pass_role(request, body.get("nodeRole"))
        return self._ok({"nodegroup": self._create_nodegroup(request.match_info["name"], body)})

    async def _http_describe_nodegroup(self, request: web.Request) -> web.Response:
        cluster_name, name = request.match_info["name"], request.match_info["item"]
        self._authorize(request, "eks:DescribeNodegroup", self._compute_arn(cluster_name, "nodegroup", name))
        return self._ok({"nodegroup": _wire(self._get_compute(cluster_name, "nodegroup", name).doc)})

    async def _http_delete_nodegroup(self, request: web.Request) -> web.Response:
        cluster_name, name = request.match_info["name"], request.match_info["item"]
        self._authorize(request, "eks:DeleteNodegroup", self._compute_arn(cluster_name, "nodegroup", name))
        return self._ok({"nodegroup": self._delete_compute(cluster_name, "nodegroup", name)})

    async def _http_list_nodegroups(self, request: web.Request) -> web.Response:
        self._authorize(request, "eks:ListNodegroups", self._arn("cluster", request.match_info["name"]))
        cluster = self._get_cluster(request.match_info["name"])
        page, token = _paginate(list(cluster.nodegroups), request.query)
        document: JsonObject = {"nodegroups": page}
        if token is not None:
            document["nextToken"] = token
        return self._ok(document)

    async def _http_create_fargate_profile(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        self._authorize(request, "eks:CreateFargateProfile", self._arn("cluster", request.match_info["name"]))
        self._authorize_pass_role(request, body.get("podExecutionRoleArn"))
        return self._ok({"fargateProfile": self._create_fargate_profile(request.match_info["name"], body)})

    async def _http_describe_fargate_profile(self, request: web.Request) -> web.Response:
        cluster_name, name = request.match_info["name"], request.match_info["item"]
        self._authorize(
            request, "eks:DescribeFargateProfile", self._compute_arn(cluster_name, "fargate_profile", name)
        )
        return self._ok(
            {"fargateProfile": _wire(self._get_compute(cluster_name, "fargate_profile", name).doc)}
        )

    async def _http_delete_fargate_profile(self, request: web.Request) -> web.Response:
        cluster_name, name = request.match_info["name"], request.match_info["item"]
        self._authorize(
            request, "eks:DeleteFargateProfile", self._compute_arn(cluster_name, "fargate_profile", name)
        )
        return self._ok({"fargateProfile": self._delete_compute(cluster_name, "fargate_profile", name)})

    async def _http_list_fargate_profiles(self, request: web.Request) -> web.Response:
        self._authorize(request, "eks:ListFargateProfiles", self._arn("cluster", request.match_info["name"]))
        cluster = self._get_cluster(request.match_info["name"])
        page, token = _paginate(list(cluster.fargate_profiles), request.query)
        document: JsonObject = {"fargateProfileNames": page}
        if token is not None:
            document["nextToken"] = token
        return self._ok(document)

    # -- operations -------------------------------------------------------------------------------

    def _get_cluster(self, name: str) -> _Cluster:
        cluster = self._clusters.get(name)
        if cluster is None:
            raise _not_found(f"No cluster found for name: {name}.", clusterName=name)
        return cluster

    def _get_compute(self, cluster_name: str, kind: ResourceKind, name: str) -> _Compute:
        cluster = self._get_cluster(cluster_name)
        table = cluster.nodegroups if kind == "nodegroup" else cluster.fargate_profiles
        item = table.get(name)
        if item is None:
            if kind == "nodegroup":
                raise _not_found(
                    f"No node group found for name: {name}.", clusterName=cluster_name, nodegroupName=name
                )
            raise _not_found(
                f"No Fargate Profile found with name: {name}.",
                clusterName=cluster_name,
                fargateProfileName=name,
            )
        return item

    def _create_cluster(self, body: JsonObject, creator: Identity, *, immediate: bool = False) -> JsonObject:
        m = _Members(body)
        name = m.required_string("name")
        if len(name) > 100 or not _CLUSTER_NAME_RE.match(name):
            raise _invalid_parameter(
                "The cluster name must be 1 to 100 characters, start with a letter or digit and contain only "
                "letters, digits, hyphens and underscores.",
                clusterName=name,
            )
        m = _Members(body, clusterName=name)
        role_arn = m.required_string("roleArn")
        if not ROLE_ARN_RE.match(role_arn):
            raise _invalid_parameter(f"roleArn {role_arn!r} is not a valid IAM role ARN.", clusterName=name)
        vpc = m.obj("resourcesVpcConfig", required=True)
        assert vpc is not None
        subnet_ids = vpc.strings("subnetIds") or []
        security_group_ids = vpc.strings("securityGroupIds") or []
        public_access = vpc.boolean("endpointPublicAccess")
        private_access = vpc.boolean("endpointPrivateAccess")
        if public_access is False and not private_access:
            raise _invalid_parameter(
                "Cluster must have either public or private access enabled (endpointPublicAccess or "
                "endpointPrivateAccess).",
                clusterName=name,
            )
        public_cidrs = vpc.strings("publicAccessCidrs")
        version = m.string("version") or DEFAULT_KUBERNETES_VERSION
        if not _VERSION_RE.match(version):
            raise _invalid_parameter(f"Unsupported Kubernetes version {version}.", clusterName=name)
        network = m.obj("kubernetesNetworkConfig")
        ip_family = (network.enum("ipFamily", _IP_FAMILIES) if network else None) or "ipv4"
        service_cidr = (network.string("serviceIpv4Cidr") if network else None) or "10.100.0.0/16"
        logging_config = m.obj("logging")
        cluster_logging = logging_config.raw("clusterLogging") if logging_config else None
        if cluster_logging is not None and not isinstance(cluster_logging, list):
            raise _invalid_parameter("logging.clusterLogging must be a list.", clusterName=name)
        encryption = m.raw("encryptionConfig")
        if encryption is not None and (not isinstance(encryption, list) or len(encryption) > 1):
            raise _invalid_parameter(
                "encryptionConfig must be a list of at most one entry.", clusterName=name
            )
        access = m.obj("accessConfig")
        bootstrap_admin = access.boolean("bootstrapClusterCreatorAdminPermissions") if access else None
        auth_mode = (access.enum("authenticationMode", _AUTH_MODES) if access else None) or "CONFIG_MAP"
        deletion_protection = m.boolean("deletionProtection") or False
        token = m.string("clientRequestToken")
        tags = m.tags()

        existing = self._clusters.get(name)
        if existing is not None:
            if token is not None and token == existing.client_request_token:
                return _wire(existing.doc)
            raise _in_use(f"Cluster already exists with name: {name}", clusterName=name)

        doc: JsonObject = {
            "name": name,
            "arn": f"arn:aws:eks:{self.region}:{self.account}:cluster/{name}",
            "createdAt": _now_epoch(),
            "version": version,
            "roleArn": role_arn,
            "resourcesVpcConfig": {
                "subnetIds": subnet_ids,
                "securityGroupIds": security_group_ids,
                "vpcId": f"vpc-{_short_id()}",
                "endpointPublicAccess": True if public_access is None else public_access,
                "endpointPrivateAccess": bool(private_access),
                "publicAccessCidrs": public_cidrs if public_cidrs is not None else ["0.0.0.0/0"],
            },
            "kubernetesNetworkConfig": {
                "serviceIpv4Cidr": service_cidr,
                "ipFamily": ip_family,
                "elasticLoadBalancing": {"enabled": False},
            },
            "logging": {"clusterLogging": cluster_logging or [{"types": list(LOG_TYPES), "enabled": False}]},
            "status": "CREATING",
            "certificateAuthority": {},
            "platformVersion": DEFAULT_PLATFORM_VERSION,
            "tags": tags,
            "health": {"issues": []},
            "accessConfig": {
                "bootstrapClusterCreatorAdminPermissions": True
                if bootstrap_admin is None
                else bootstrap_admin,
                "authenticationMode": auth_mode,
            },
            "upgradePolicy": {"supportType": "EXTENDED"},
            "deletionProtection": deletion_protection,
        }
        if token is not None:
            doc["clientRequestToken"] = token
        if encryption:
            doc["encryptionConfig"] = encryption
        cluster = _Cluster(
            name=name,
            doc=doc,
            creator_arn=canonicalize_arn(creator.caller_identity().arn),
            admin_creator=bootstrap_admin is not False,
            client_request_token=token,
        )
        self._clusters[name] = cluster
        self._spawn(self._finish_cluster_create(cluster, immediate), f"create cluster {name}")
        return _wire(doc)

    def _delete_cluster(self, name: str) -> JsonObject:
        cluster = self._get_cluster(name)
        if cluster.status == "DELETING":
            return _wire(cluster.doc)
        if cluster.status == "CREATING":
            raise _in_use(
                f"Cluster {name} is currently being created and cannot be deleted.", clusterName=name
            )
        if cluster.nodegroups:
            raise _in_use("Cluster has nodegroups attached", clusterName=name)
        if cluster.fargate_profiles:
            raise _in_use("Cluster has fargate profiles attached", clusterName=name)
        if cluster.doc.get("deletionProtection"):
            raise _invalid_request(
                f"Cluster {name} has deletion protection enabled; disable it before deleting the cluster.",
                clusterName=name,
            )
        cluster.doc["status"] = "DELETING"
        self._spawn(self._finish_cluster_delete(cluster), f"delete cluster {name}")
        return _wire(cluster.doc)

    def _require_active(self, cluster: _Cluster) -> None:
        if cluster.status != "ACTIVE":
            raise _invalid_request(
                f"Cluster '{cluster.name}' is not in ACTIVE status", clusterName=cluster.name
            )

    def _create_nodegroup(self, cluster_name: str, body: JsonObject) -> JsonObject:
        cluster = self._get_cluster(cluster_name)
        m = _Members(body, clusterName=cluster_name)
        name = m.required_string("nodegroupName")
        if len(name) > 63 or not _COMPUTE_NAME_RE.match(name):
            raise _invalid_parameter(
                "The node group name must be 1 to 63 characters, start with a letter or digit and "
                "contain only letters, digits, hyphens and underscores.",
                clusterName=cluster_name,
                nodegroupName=name,
            )
        m = _Members(body, clusterName=cluster_name, nodegroupName=name)
        subnets = m.strings("subnets", required=True, non_empty=True)
        node_role = m.required_string("nodeRole")
        if not ROLE_ARN_RE.match(node_role):
            raise _invalid_parameter(
                f"nodeRole {node_role!r} is not a valid IAM role ARN.",
                clusterName=cluster_name,
                nodegroupName=name,
            )
        scaling = m.obj("scalingConfig")
        min_size = scaling.integer("minSize", minimum=0) if scaling else None
        max_size = scaling.integer("maxSize", minimum=1) if scaling else None
        desired = scaling.integer("desiredSize", minimum=0) if scaling else None
        min_size = 1 if min_size is None else min_size
        max_size = max(2, min_size) if max_size is None else max_size
        desired = max(min_size, min(2, max_size)) if desired is None else desired
        if not min_size <= desired <= max_size:
            raise _invalid_parameter(
                "Requested Nodegroup scaling config is invalid: minSize <= desiredSize <= maxSize must hold.",
                clusterName=cluster_name,
                nodegroupName=name,
            )
        disk_size = m.integer("diskSize", minimum=1)
        instance_types = m.strings("instanceTypes")
        ami_type = m.enum("amiType", _AMI_TYPES)
        capacity_type = m.enum("capacityType", _CAPACITY_TYPES) or "ON_DEMAND"
        labels = m.string_map("labels", max_length=63)
        taints = self._taints(m, cluster_name, name)
        remote_access = m.obj("remoteAccess")
        launch_template = m.obj("launchTemplate")
        update_config = m.obj("updateConfig")
        if update_config is not None:
            update_config.integer("maxUnavailable", minimum=1)
            update_config.integer("maxUnavailablePercentage", minimum=1, maximum=100)
            update_config.enum("updateStrategy", ("DEFAULT", "MINIMAL"))
        version = m.string("version")
        release_version = m.string("releaseVersion")
        token = m.string("clientRequestToken")
        tags = m.tags()

        existing = cluster.nodegroups.get(name)
        if existing is not None:
            if token is not None and token == existing.client_request_token:
                return _wire(existing.doc)
            raise _in_use(
                f"NodeGroup already exists with name {name} and cluster name {cluster_name}",
                clusterName=cluster_name,
                nodegroupName=name,
            )
        self._require_active(cluster)
        cluster_version: str = cluster.doc["version"]
        now = _now_epoch()
        doc: JsonObject = {
            "nodegroupName": name,
            "nodegroupArn": (
                f"arn:aws:eks:{self.region}:{self.account}:nodegroup/{cluster_name}/{name}/{uuid.uuid4()}"
            ),
            "clusterName": cluster_name,
            "version": version or cluster_version,
            "releaseVersion": release_version or f"{version or cluster_version}.0-20251101",
            "createdAt": now,
            "modifiedAt": now,
            "status": "CREATING",
            "capacityType": capacity_type,
            "scalingConfig": {"minSize": min_size, "maxSize": max_size, "desiredSize": desired},
            "instanceTypes": instance_types or ["t3.medium"],
            "subnets": subnets,
            "amiType": ami_type or "AL2023_x86_64_STANDARD",
            "nodeRole": node_role,
            "labels": labels or {},
            "diskSize": disk_size if disk_size is not None else 20,
            "health": {"issues": []},
            "updateConfig": _wire(update_config._body) if update_config else {"maxUnavailable": 1},
            "tags": tags,
        }
        if remote_access is not None:
            doc["remoteAccess"] = _wire(remote_access._body)
        if taints is not None:
            doc["taints"] = taints
        if launch_template is not None:
            doc["launchTemplate"] = _wire(launch_template._body)
        item = _Compute("nodegroup", name, doc, node_role, token)
        cluster.nodegroups[name] = item
        self._spawn(self._finish_compute_create(cluster, item), f"create node group {cluster_name}/{name}")
        return _wire(doc)

    @staticmethod
    def _taints(m: _Members, cluster_name: str, name: str) -> list[JsonObject] | None:
        taints = m.raw("taints")
        if taints is None:
            return None
        if not isinstance(taints, list):
            raise _invalid_parameter("taints must be a list.", clusterName=cluster_name, nodegroupName=name)
        result: list[JsonObject] = []
        for taint in taints:
            if not isinstance(taint, dict):
                raise _invalid_parameter(
                    "each taint must be an object.", clusterName=cluster_name, nodegroupName=name
                )
            t = _Members(taint, clusterName=cluster_name, nodegroupName=name)
            key = t.string("key")
            value = t.string("value")
            effect = t.enum("effect", _TAINT_EFFECTS)
            if (key is not None and not 1 <= len(key) <= 63) or (value is not None and len(value) > 63):
                raise _invalid_parameter(
                    "taint keys must be 1 to 63 characters and values at most 63.",
                    clusterName=cluster_name,
                    nodegroupName=name,
                )
            result.append(
                {k: v for k, v in (("key", key), ("value", value), ("effect", effect)) if v is not None}
            )
        return result

    def _create_fargate_profile(self, cluster_name: str, body: JsonObject) -> JsonObject:
        cluster = self._get_cluster(cluster_name)
        m = _Members(body, clusterName=cluster_name)
        name = m.required_string("fargateProfileName")
        if len(name) > 100 or not _COMPUTE_NAME_RE.match(name):
            raise _invalid_parameter(
                "The Fargate profile name must start with a letter or digit and contain only letters, "
                "digits, hyphens and underscores.",
                clusterName=cluster_name,
                fargateProfileName=name,
            )
        m = _Members(body, clusterName=cluster_name, fargateProfileName=name)
        role_arn = m.required_string("podExecutionRoleArn")
        if not ROLE_ARN_RE.match(role_arn):
            raise _invalid_parameter(
                f"podExecutionRoleArn {role_arn!r} is not a valid IAM role ARN.",
                clusterName=cluster_name,
                fargateProfileName=name,
            )
        subnets = m.strings("subnets")
        selectors = self._selectors(m, cluster_name, name)
        token = m.string("clientRequestToken")
        tags = m.tags()

        existing = cluster.fargate_profiles.get(name)
        if existing is not None:
            if token is not None and token == existing.client_request_token:
                return _wire(existing.doc)
            raise _in_use(
                "A Fargate Profile already exists with this name in this cluster.",
                clusterName=cluster_name,
            )
        self._require_active(cluster)
        self._require_no_fargate_transition(cluster, "create", name)
        cluster_subnets: list[str] = cluster.doc["resourcesVpcConfig"]["subnetIds"]
        doc: JsonObject = {
            "fargateProfileName": name,
            "fargateProfileArn": (
                f"arn:aws:eks:{self.region}:{self.account}:fargateprofile/{cluster_name}/{name}/{uuid.uuid4()}"
            ),
            "clusterName": cluster_name,
            "createdAt": _now_epoch(),
            "podExecutionRoleArn": role_arn,
            "subnets": subnets if subnets is not None else list(cluster_subnets),
            "selectors": selectors,
            "status": "CREATING",
            "tags": tags,
            "health": {"issues": []},
        }
        item = _Compute("fargate_profile", name, doc, role_arn, token)
        cluster.fargate_profiles[name] = item
        self._spawn(
            self._finish_compute_create(cluster, item), f"create Fargate profile {cluster_name}/{name}"
        )
        return _wire(doc)

    @staticmethod
    def _selectors(m: _Members, cluster_name: str, name: str) -> list[JsonObject]:
        selectors = m.raw("selectors")
        fields = {"clusterName": cluster_name, "fargateProfileName": name}
        if selectors is None:
            return []
        if not isinstance(selectors, list):
            raise _invalid_parameter("selectors must be a list.", **fields)
        if len(selectors) > MAX_FARGATE_SELECTORS:
            raise _invalid_parameter(
                f"A Fargate profile can have at most {MAX_FARGATE_SELECTORS} selectors.", **fields
            )
        result: list[JsonObject] = []
        for selector in selectors:
            if not isinstance(selector, dict):
                raise _invalid_parameter("each selector must be an object.", **fields)
            s = _Members(selector, **fields)
            namespace = s.string("namespace")
            if not namespace:
                raise _invalid_parameter("Every Fargate profile selector must specify a namespace.", **fields)
            labels = s.string_map("labels", max_entries=MAX_SELECTOR_LABELS)
            entry: JsonObject = {"namespace": namespace}
            if labels:
                entry["labels"] = labels
            result.append(entry)
        return result

    @staticmethod
    def _require_no_fargate_transition(cluster: _Cluster, action: str, name: str) -> None:
        for other in cluster.fargate_profiles.values():
            if other.name != name and other.status in ("CREATING", "DELETING"):
                raise _in_use(
                    f"Cannot {action} Fargate Profile {name} because cluster {cluster.name} currently has "
                    f"Fargate Profile {other.name} in status {other.status}",
                    clusterName=cluster.name,
                )

    def _delete_compute(self, cluster_name: str, kind: ResourceKind, name: str) -> JsonObject:
        cluster = self._get_cluster(cluster_name)
        item = self._get_compute(cluster_name, kind, name)
        if item.status == "DELETING":
            return _wire(item.doc)
        label = "Nodegroup" if kind == "nodegroup" else "Fargate Profile"
        if item.status == "CREATING":
            fields = {"clusterName": cluster_name}
            if kind == "nodegroup":
                fields["nodegroupName"] = name
            raise _in_use(f"{label} {name} is currently being created and cannot be deleted.", **fields)
        if kind == "fargate_profile":
            self._require_no_fargate_transition(cluster, "delete", name)
        item.doc["status"] = "DELETING"
        if kind == "nodegroup":
            item.doc["modifiedAt"] = _now_epoch()
        self._spawn(self._finish_compute_delete(cluster, item), f"delete {label} {cluster_name}/{name}")
        return _wire(item.doc)

    # -- lifecycle -------------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("EKS simulator task %r failed", task.get_name(), exc_info=task.exception())

    def _failure(self, kind: ResourceKind, name: str, phase: Phase) -> FailureRule | None:
        for index, rule in enumerate(self._failures):
            if rule.kind != kind or rule.phase != phase or not fnmatch.fnmatchcase(name, rule.name_pattern):
                continue
            used = self._failure_counts.get(index, 0)
            if rule.times is not None and used >= rule.times:
                continue
            self._failure_counts[index] = used + 1
            return rule
        return None

    async def _finish_cluster_create(self, cluster: _Cluster, immediate: bool) -> None:
        await asyncio.sleep(0 if immediate else self.timings.seconds("cluster", "create"))
        rule = self._failure("cluster", cluster.name, "create")
        if rule is not None:
            cluster.doc["status"] = "FAILED"
            cluster.doc["health"] = {"issues": [rule.issue(cluster.name)]}
            return
        if self.kube_servers:
            admins = [canonicalize_arn(self.service_identity.caller_identity().arn)]
            if cluster.admin_creator:
                admins.append(cluster.creator_arn)
            kube = KubeSimulator(
                identity_resolver=self._identity_resolver(cluster.name),
                admin_arns=tuple(admins),
                runtime="process" if self.runtime == "process" else "model",
                faults=self.kube_faults,
                cluster_name=cluster.name,
            )
            kube.authenticator.sts_endpoints = self.sts.endpoints
            if self.token_ttl is not None:
                kube.authenticator.token_lifetime = self.token_ttl
            try:
                await kube.start()
            except BaseException:
                await asyncio.shield(kube.close())
                raise
            cluster.kube = kube
            cluster.doc["endpoint"] = kube.url
            cluster.doc["certificateAuthority"] = {"data": kube.ca_b64}
            if not cluster.doc["resourcesVpcConfig"]["endpointPublicAccess"]:
                # A private-only endpoint resolves to addresses inside the VPC, which nothing
                # outside it (Step Functions among them) can reach: here, a port that refuses.
                cluster.private_endpoint = _unreachable_socket()
                port = cluster.private_endpoint.getsockname()[1]
                cluster.doc["endpoint"] = f"https://{LOOPBACK}:{port}"
        cluster.doc["identity"] = {
            "oidc": {
                "issuer": f"https://oidc.eks.{self.region}.amazonaws.com/id/{secrets.token_hex(16).upper()}"
            }
        }
        cluster.doc["resourcesVpcConfig"]["clusterSecurityGroupId"] = f"sg-{_short_id()}"
        cluster.doc["status"] = "ACTIVE"

    async def _finish_cluster_delete(self, cluster: _Cluster) -> None:
        await asyncio.sleep(self.timings.seconds("cluster", "delete"))
        rule = self._failure("cluster", cluster.name, "delete")
        if rule is not None:
            cluster.doc["status"] = "FAILED"
            cluster.doc["health"] = {"issues": [rule.issue(cluster.name)]}
            return
        kube, cluster.kube = cluster.kube, None
        cluster.close_private_endpoint()
        if self._clusters.get(cluster.name) is cluster:
            del self._clusters[cluster.name]
        if kube is not None:
            await kube.close()

    async def _finish_compute_create(self, cluster: _Cluster, item: _Compute) -> None:
        await asyncio.sleep(self.timings.seconds(item.kind, "create"))
        rule = self._failure(item.kind, item.name, "create")
        if rule is not None:
            item.doc["status"] = "CREATE_FAILED"
            item.doc["health"] = {"issues": [rule.issue(self._resource_id(item))]}
            self._touch(item)
            return
        if cluster.kube is not None:
            groups = _NODE_GROUPS if item.kind == "nodegroup" else _FARGATE_GROUPS
            username = (
                "system:node:{{EC2PrivateDNSName}}"
                if item.kind == "nodegroup"
                else ("system:node:{{SessionName}}")
            )
            try:
                await self._edit_aws_auth(cluster, add=(item.role_arn, username, groups))
            except AwsAuthError as exc:
                item.doc["status"] = "CREATE_FAILED"
                item.doc["health"] = {
                    "issues": [
                        {"code": "ClusterUnreachable", "message": str(exc), "resourceIds": [cluster.name]}
                    ]
                }
                self._touch(item)
                return
        if item.kind == "nodegroup":
            item.doc["resources"] = {"autoScalingGroups": [{"name": f"eks-{item.name}-{uuid.uuid4()}"}]}
            if "remoteAccess" in item.doc:
                item.doc["resources"]["remoteAccessSecurityGroup"] = f"sg-{_short_id()}"
        item.doc["status"] = "ACTIVE"
        self._touch(item)

    async def _finish_compute_delete(self, cluster: _Cluster, item: _Compute) -> None:
        await asyncio.sleep(self.timings.seconds(item.kind, "delete"))
        rule = self._failure(item.kind, item.name, "delete")
        if rule is not None:
            item.doc["status"] = "DELETE_FAILED"
            item.doc["health"] = {"issues": [rule.issue(self._resource_id(item))]}
            self._touch(item)
            return
        role = canonicalize_arn(item.role_arn)
        still_used = any(
            canonicalize_arn(ng.role_arn) == role for ng in cluster.nodegroups.values() if ng is not item
        )
        if item.kind == "nodegroup" and not still_used and cluster.kube is not None:
            # Before the node group disappears, so a client that saw it gone also sees aws-auth updated.
            try:
                await self._edit_aws_auth(cluster, remove=role)
            except AwsAuthError as exc:
                _log.warning("could not remove %s from aws-auth of %s: %s", role, cluster.name, exc)
        table = cluster.nodegroups if item.kind == "nodegroup" else cluster.fargate_profiles
        if table.get(item.name) is item:
            del table[item.name]

    @staticmethod
    def _resource_id(item: _Compute) -> str:
        if item.kind == "nodegroup":
            return f"eks-{item.name}"
        return item.name

    @staticmethod
    def _touch(item: _Compute) -> None:
        if item.kind == "nodegroup":
            item.doc["modifiedAt"] = _now_epoch()

    # -- the clusters' Kubernetes side ----------------------------------------------------------

    def _identity_resolver(self, cluster_name: str) -> Callable[[str], Awaitable[AwsIdentity | None]]:
        async def resolve(token: str) -> AwsIdentity | None:
            try:
                ttl = self.token_ttl
                max_age = dt.timedelta(seconds=ttl) if ttl is not None else None
                caller = self.sts.resolve_token(token, cluster_name, max_age=max_age)
            except TokenError as exc:
                _log.debug("token refused for cluster %s: %s", cluster_name, exc)
                return None
            return AwsIdentity.from_caller(caller)

        return resolve

    def service_token(self, cluster_name: str) -> str:
        """A bearer token for the EKS service-linked role on one cluster (an admin of every cluster)."""
        return make_eks_token(
            sts_url=self.sts.url,
            cluster_name=cluster_name,
            access_key_id=self.service_identity.access_key_id,
            secret_access_key=self.service_identity.secret_access_key or "",
            region=self.region,
            now=utc_now(),
        )

    async def _edit_aws_auth(
        self,
        cluster: _Cluster,
        *,
        add: tuple[str, str, tuple[str, ...]] | None = None,
        remove: str | None = None,
    ) -> None:
        kube = cluster.kube
        if kube is None:
            return
        async with cluster.aws_auth_lock:
            editor = _AwsAuthEditor(kube.url, kube.ca_b64, self.service_token(cluster.name))
            await editor.edit(add=add, remove=remove)

    async def on_close(self) -> None:
        """Stop lifecycle tasks and every cluster's Kubernetes API server."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for cluster in list(self._clusters.values()):
            kube, cluster.kube = cluster.kube, None
            cluster.close_private_endpoint()
            if kube is not None:
                await kube.close()


# -- aws-auth -----------------------------------------------------------------------------------


class AwsAuthError(Exception):
    """The ``aws-auth`` ConfigMap could not be updated through the cluster's Kubernetes API."""


_AWS_AUTH_PATH: Final = "/api/v1/namespaces/kube-system/configmaps"


class _AwsAuthEditor:
    """Read-modify-write of ``kube-system/aws-auth`` over the Kubernetes REST API, with retries."""

    def __init__(self, endpoint: str, ca_b64: str, token: str) -> None:
        self._endpoint = endpoint
        self._ssl = ssl.create_default_context(cadata=base64.b64decode(ca_b64).decode("ascii"))
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    async def edit(self, *, add: tuple[str, str, tuple[str, ...]] | None, remove: str | None) -> None:
        last_problem = "no attempt made"
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(headers=self._headers, timeout=timeout) as session:
            for attempt in range(AWS_AUTH_ATTEMPTS):
                if attempt:
                    await asyncio.sleep(min(0.02 * 2**attempt, 0.2))
                try:
                    outcome = await self._attempt(session, add=add, remove=remove)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    last_problem = f"{type(exc).__name__}"
                    continue
                if outcome is None:
                    return
                last_problem = outcome
        raise AwsAuthError(f"could not update aws-auth: {last_problem}")

    async def _attempt(
        self,
        session: aiohttp.ClientSession,
        *,
        add: tuple[str, str, tuple[str, ...]] | None,
        remove: str | None,
    ) -> str | None:
        """One read-modify-write; None when done, else a retryable problem."""
        url = f"{self._endpoint}{_AWS_AUTH_PATH}/aws-auth"
        async with session.get(url, ssl=self._ssl) as response:
            if response.status == 404:
                current: JsonObject | None = None
            elif response.status == 200:
                current = await response.json()
            else:
                return f"GET aws-auth answered {response.status}"
        if current is None:
            if add is None:
                return None
            document: JsonObject = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "aws-auth", "namespace": "kube-system"},
                "data": {"mapRoles": aws_auth.render_entries(aws_auth.with_role([], *add))},
            }
            async with session.post(
                f"{self._endpoint}{_AWS_AUTH_PATH}", json=document, ssl=self._ssl
            ) as response:
                if response.status in (200, 201):
                    return None
                return f"POST aws-auth answered {response.status}"
        data = current.get("data") or {}
        roles = aws_auth.parse_entries(data.get("mapRoles", ""))
        if add is not None:
            updated = aws_auth.with_role(roles, *add)
        elif remove is not None:
            updated = aws_auth.without_role(roles, remove)
        else:
            updated = roles
        if updated == roles:
            return None
        current["data"] = {**data, "mapRoles": aws_auth.render_entries(updated)}
        async with session.put(url, json=current, ssl=self._ssl) as response:
            if response.status == 200:
                return None
            return f"PUT aws-auth answered {response.status}"


# -- pagination ----------------------------------------------------------------------------------


def _paginate(names: list[str], query: Mapping[str, str]) -> tuple[list[str], str | None]:
    raw_max = query.get("maxResults")
    max_results = 100
    if raw_max is not None:
        try:
            max_results = int(raw_max)
        except ValueError:
            raise _invalid_parameter("maxResults must be an integer between 1 and 100.") from None
        if not 1 <= max_results <= 100:
            raise _invalid_parameter("maxResults must be an integer between 1 and 100.")
    start = 0
    token = query.get("nextToken")
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except ValueError:
            raise _invalid_parameter("The nextToken is not valid.") from None
        if start < 0:
            raise _invalid_parameter("The nextToken is not valid.")
    page = names[start : start + max_results]
    end = start + len(page)
    next_token = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(names) else None
    return page, next_token
