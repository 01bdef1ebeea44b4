"""EKS clusters: CreateCluster's rules and document, the cluster records, their lifecycle and API servers.

A cluster is a :class:`Cluster` record: its DescribeCluster document (the
one that crosses the wire, copied), who created it, and what it holds — its
node groups and Fargate profiles (:class:`Compute`, created by
:mod:`sim.eks.compute`) and, once ACTIVE, its own Kubernetes API server
(:class:`KubeServers` starts a :class:`sim.kube.KubeSimulator` per cluster).

The creator (the principal that signed CreateCluster) is the cluster's
``system:masters`` administrator without appearing in ``aws-auth``, as on EKS,
unless ``accessConfig.bootstrapClusterCreatorAdminPermissions`` is false; the
EKS service-linked role is an administrator of every cluster. A cluster
without public endpoint access names an endpoint that refuses connections, as
a private endpoint is unreachable from outside its VPC.

Rules enforced as EKS does: required members and types, a duplicate name
(``ResourceInUseException`` unless an identical retry with the same
``clientRequestToken``), DeleteCluster while CREATING, while node groups or
Fargate profiles exist, or under deletion protection.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from sim.aws.arns import ROLE_ARN_RE, canonicalize_arn
from sim.aws.identities import AwsIdentity
from sim.aws.token import TokenError
from sim.eks.errors import in_use, invalid_parameter, invalid_request, not_found
from sim.eks.lifecycle import Lifecycle, ResourceKind
from sim.eks.wire import JsonObject, Members, now_epoch, short_id, wire
from sim.faults import FaultConfig
from sim.kube import IdentityResolver, KubeSimulator
from sim.server import LOOPBACK
from sim.sts import StsSimulator

_log = logging.getLogger(__name__)

Runtime = Literal["model", "process"]

DEFAULT_KUBERNETES_VERSION: Final = "1.33"
DEFAULT_PLATFORM_VERSION: Final = "eks.9"
LOG_TYPES: Final = ("api", "audit", "authenticator", "controllerManager", "scheduler")
MAX_TOKEN_TTL_SECONDS: Final = 900.0
"""STS never accepts a presigned GetCallerIdentity older than 15 minutes (spec §10.1)."""

_CLUSTER_NAME_RE: Final = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]*$")
_VERSION_RE: Final = re.compile(r"^1\.\d{1,2}$")
_AUTH_MODES: Final = frozenset({"API", "API_AND_CONFIG_MAP", "CONFIG_MAP"})
_IP_FAMILIES: Final = frozenset({"ipv4", "ipv6"})


@dataclass
class Compute:
    """A node group or Fargate profile: its wire document and lifecycle bookkeeping."""

    kind: ResourceKind
    name: str
    doc: JsonObject
    role_arn: str
    client_request_token: str | None

    @property
    def status(self) -> str:
        """The resource's ``status``."""
        status: str = self.doc["status"]
        return status


@dataclass
class Cluster:
    """One cluster: its DescribeCluster document and everything it holds."""

    name: str
    doc: JsonObject
    creator_arn: str
    admin_creator: bool
    client_request_token: str | None
    nodegroups: dict[str, Compute] = field(default_factory=dict)
    fargate_profiles: dict[str, Compute] = field(default_factory=dict)
    kube: KubeSimulator | None = None
    aws_auth_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    private_endpoint: socket.socket | None = None
    """For a cluster without public access: the bound, never-listening socket its endpoint names."""

    @property
    def status(self) -> str:
        """The cluster's ``status``."""
        status: str = self.doc["status"]
        return status

    def compute(self, kind: ResourceKind) -> dict[str, Compute]:
        """The cluster's node groups or Fargate profiles, by name."""
        return self.nodegroups if kind == "nodegroup" else self.fargate_profiles

    def close_private_endpoint(self) -> None:
        """Release the port a private-only endpoint holds."""
        sock, self.private_endpoint = self.private_endpoint, None
        if sock is not None:
            sock.close()

    async def close_kube(self) -> None:
        """Stop the cluster's API server and release its endpoint."""
        kube, self.kube = self.kube, None
        self.close_private_endpoint()
        if kube is not None:
            await kube.close()


def _unreachable_socket() -> socket.socket:
    """A loopback port that is taken but refuses every connection (bound, never listening)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((LOOPBACK, 0))
    return sock


@dataclass(frozen=True, slots=True)
class CreateCluster:
    """A validated CreateCluster request: the new cluster's document and what EKS keeps beside it."""

    name: str
    doc: JsonObject
    client_request_token: str | None
    admin_creator: bool


def parse_create_cluster(body: JsonObject, *, region: str, account: str) -> CreateCluster:
    """Check CreateCluster's members as EKS does and build the cluster's document (status CREATING).

    Raises:
        EksError: InvalidParameterException, with the cluster's name when it is known.
    """
    m = Members(body)
    name = m.required_string("name")
    if len(name) > 100 or not _CLUSTER_NAME_RE.match(name):
        raise invalid_parameter(
            "The cluster name must be 1 to 100 characters, start with a letter or digit and contain only "
            "letters, digits, hyphens and underscores.",
            clusterName=name,
        )
    m = Members(body, clusterName=name)
    role_arn = m.required_string("roleArn")
    if not ROLE_ARN_RE.match(role_arn):
        raise invalid_parameter(f"roleArn {role_arn!r} is not a valid IAM role ARN.", clusterName=name)
    vpc = m.obj("resourcesVpcConfig", required=True)
    assert vpc is not None
    subnet_ids = vpc.strings("subnetIds") or []
    security_group_ids = vpc.strings("securityGroupIds") or []
    public_access = vpc.boolean("endpointPublicAccess")
    private_access = vpc.boolean("endpointPrivateAccess")
    if public_access is False and not private_access:
        raise invalid_parameter(
            "Cluster must have either public or private access enabled (endpointPublicAccess or "
            "endpointPrivateAccess).",
            clusterName=name,
        )
    public_cidrs = vpc.strings("publicAccessCidrs")
    version = m.string("version") or DEFAULT_KUBERNETES_VERSION
    if not _VERSION_RE.match(version):
        raise invalid_parameter(f"Unsupported Kubernetes version {version}.", clusterName=name)
    network = m.obj("kubernetesNetworkConfig")
    ip_family = (network.enum("ipFamily", _IP_FAMILIES) if network else None) or "ipv4"
    service_cidr = (network.string("serviceIpv4Cidr") if network else None) or "10.100.0.0/16"
    logging_config = m.obj("logging")
    cluster_logging = logging_config.raw("clusterLogging") if logging_config else None
    if cluster_logging is not None and not isinstance(cluster_logging, list):
        raise invalid_parameter("logging.clusterLogging must be a list.", clusterName=name)
    encryption = m.raw("encryptionConfig")
    if encryption is not None and (not isinstance(encryption, list) or len(encryption) > 1):
        raise invalid_parameter("encryptionConfig must be a list of at most one entry.", clusterName=name)
    access = m.obj("accessConfig")
    bootstrap_admin = access.boolean("bootstrapClusterCreatorAdminPermissions") if access else None
    auth_mode = (access.enum("authenticationMode", _AUTH_MODES) if access else None) or "CONFIG_MAP"
    deletion_protection = m.boolean("deletionProtection") or False
    token = m.string("clientRequestToken")
    tags = m.tags()

    doc: JsonObject = {
        "name": name,
        "arn": f"arn:aws:eks:{region}:{account}:cluster/{name}",
        "createdAt": now_epoch(),
        "version": version,
        "roleArn": role_arn,
        "resourcesVpcConfig": {
            "subnetIds": subnet_ids,
            "securityGroupIds": security_group_ids,
            "vpcId": f"vpc-{short_id()}",
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
            "bootstrapClusterCreatorAdminPermissions": True if bootstrap_admin is None else bootstrap_admin,
            "authenticationMode": auth_mode,
        },
        "upgradePolicy": {"supportType": "EXTENDED"},
        "deletionProtection": deletion_protection,
    }
    if token is not None:
        doc["clientRequestToken"] = token
    if encryption:
        doc["encryptionConfig"] = encryption
    return CreateCluster(
        name=name, doc=doc, client_request_token=token, admin_creator=bootstrap_admin is not False
    )


@dataclass
class KubeServers:
    """How an ACTIVE cluster gets its Kubernetes API server.

    Attributes:
        sts: The STS simulator the servers resolve bearer tokens through (and trust tokens for).
        admin_arn: The EKS service-linked role, an administrator of every cluster.
        enabled: Start a server per cluster; False gives control-plane-only clusters without an endpoint.
        runtime: The servers' container runtime (``model`` or ``process``).
        faults: Faults every server injects (read when a cluster becomes ACTIVE).
        token_ttl: Refuse bearer tokens signed longer ago than this many seconds; None keeps 15 minutes.
    """

    sts: StsSimulator
    admin_arn: str
    enabled: bool = True
    runtime: Runtime = "model"
    faults: FaultConfig | None = None
    token_ttl: float | None = None

    async def start(self, cluster: Cluster) -> None:
        """Start the cluster's API server and put its endpoint and CA in the cluster's document."""
        if not self.enabled:
            return
        admins = [self.admin_arn]
        if cluster.admin_creator:
            admins.append(cluster.creator_arn)
        kube = KubeSimulator(
            identity_resolver=self.identity_resolver(cluster.name),
            admin_arns=tuple(admins),
            runtime="process" if self.runtime == "process" else "model",
            faults=self.faults,
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

    def identity_resolver(self, cluster_name: str) -> IdentityResolver:
        """Who signed a token, as the cluster's authenticator asks STS (None: refused)."""

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


class Clusters:
    """The clusters of one EKS simulator: CreateCluster, DeleteCluster and their lifecycle.

    Args:
        region: The region in ARNs and OIDC issuers.
        account: The account in ARNs.
        lifecycle: Timings, failure rules and the tasks that apply them.
        kube: How ACTIVE clusters get their API servers.
    """

    def __init__(self, *, region: str, account: str, lifecycle: Lifecycle, kube: KubeServers) -> None:
        self.region = region
        self.account = account
        self.lifecycle = lifecycle
        self.kube = kube
        self._clusters: dict[str, Cluster] = {}

    @property
    def all(self) -> Mapping[str, Cluster]:
        """Every cluster by name, in creation order."""
        return self._clusters

    def find(self, name: str) -> Cluster | None:
        """The cluster of that name, or None."""
        return self._clusters.get(name)

    def get(self, name: str) -> Cluster:
        """The cluster of that name.

        Raises:
            EksError: ResourceNotFoundException.
        """
        cluster = self._clusters.get(name)
        if cluster is None:
            raise not_found(f"No cluster found for name: {name}.", clusterName=name)
        return cluster

    def arn(self, kind: str, *names: str) -> str:
        """An EKS ARN of this region and account (``cluster/NAME``, ``nodegroup/C/N/ID``…)."""
        return f"arn:aws:eks:{self.region}:{self.account}:{kind}/{'/'.join(names)}"

    def create(self, body: JsonObject, creator_arn: str, *, immediate: bool = False) -> JsonObject:
        """CreateCluster: a new cluster in CREATING (or the existing one, for a retry with its token).

        Args:
            body: The request members.
            creator_arn: The caller, as STS names it; it becomes the cluster's administrator.
            immediate: Skip the CREATING delay (a cluster that already existed, such as the demo one).

        Raises:
            EksError: the error CreateCluster answers.
        """
        request = parse_create_cluster(body, region=self.region, account=self.account)
        existing = self._clusters.get(request.name)
        if existing is not None:
            token = request.client_request_token
            if token is not None and token == existing.client_request_token:
                return wire(existing.doc)
            raise in_use(f"Cluster already exists with name: {request.name}", clusterName=request.name)
        cluster = Cluster(
            name=request.name,
            doc=request.doc,
            creator_arn=canonicalize_arn(creator_arn),
            admin_creator=request.admin_creator,
            client_request_token=request.client_request_token,
        )
        self._clusters[cluster.name] = cluster
        self.lifecycle.spawn(self._finish_create(cluster, immediate), f"create cluster {cluster.name}")
        return wire(cluster.doc)

    def delete(self, name: str) -> JsonObject:
        """DeleteCluster: the cluster goes DELETING (a second call answers the same).

        Raises:
            EksError: not found, still CREATING, with compute attached, or protected.
        """
        cluster = self.get(name)
        if cluster.status == "DELETING":
            return wire(cluster.doc)
        if cluster.status == "CREATING":
            raise in_use(
                f"Cluster {name} is currently being created and cannot be deleted.", clusterName=name
            )
        if cluster.nodegroups:
            raise in_use("Cluster has nodegroups attached", clusterName=name)
        if cluster.fargate_profiles:
            raise in_use("Cluster has fargate profiles attached", clusterName=name)
        if cluster.doc.get("deletionProtection"):
            raise invalid_request(
                f"Cluster {name} has deletion protection enabled; disable it before deleting the cluster.",
                clusterName=name,
            )
        cluster.doc["status"] = "DELETING"
        self.lifecycle.spawn(self._finish_delete(cluster), f"delete cluster {name}")
        return wire(cluster.doc)

    def require_active(self, cluster: Cluster) -> None:
        """Refuse to add compute to a cluster that is not ACTIVE (InvalidRequestException)."""
        if cluster.status != "ACTIVE":
            raise invalid_request(
                f"Cluster '{cluster.name}' is not in ACTIVE status", clusterName=cluster.name
            )

    async def wait_active(self, name: str) -> JsonObject:
        """Wait until a cluster leaves CREATING; return its document.

        Raises:
            EksError: the cluster is gone or ended in another status than ACTIVE.
        """
        while True:
            cluster = self.get(name)
            if cluster.status == "ACTIVE":
                return wire(cluster.doc)
            if cluster.status != "CREATING":
                raise invalid_request(f"Cluster {name} ended in status {cluster.status}.", clusterName=name)
            create_seconds = self.lifecycle.timings.seconds("cluster", "create")
            await asyncio.sleep(min(0.05, max(create_seconds / 10, 0.005)))

    async def _finish_create(self, cluster: Cluster, immediate: bool) -> None:
        if immediate:
            await asyncio.sleep(0)
        else:
            await self.lifecycle.wait("cluster", "create")
        rule = self.lifecycle.failure("cluster", cluster.name, "create")
        if rule is not None:
            cluster.doc["status"] = "FAILED"
            cluster.doc["health"] = {"issues": [rule.issue(cluster.name)]}
            return
        await self.kube.start(cluster)
        issuer_id = secrets.token_hex(16).upper()
        cluster.doc["identity"] = {
            "oidc": {"issuer": f"https://oidc.eks.{self.region}.amazonaws.com/id/{issuer_id}"}
        }
        cluster.doc["resourcesVpcConfig"]["clusterSecurityGroupId"] = f"sg-{short_id()}"
        cluster.doc["status"] = "ACTIVE"

    async def _finish_delete(self, cluster: Cluster) -> None:
        await self.lifecycle.wait("cluster", "delete")
        rule = self.lifecycle.failure("cluster", cluster.name, "delete")
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

    async def close(self) -> None:
        """Stop every cluster's API server (the lifecycle tasks are stopped first, by the caller)."""
        for cluster in list(self._clusters.values()):
            await cluster.close_kube()
