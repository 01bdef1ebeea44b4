"""The EKS simulator's server: the twelve REST-JSON routes, SigV4 and IAM in front, the Python API.

moto answers the EKS API but every resource is ACTIVE at once and nothing
fails. Workflows that create a cluster, add compute, run Jobs and tear down
need the timing and failure modes of the real service, so this simulator
serves the twelve operations the Step Functions integration uses with
botocore's shapes (``botocore/data/eks/2017-11-01/service-2.json``): routes
here, the rules in :mod:`sim.eks.clusters` and :mod:`sim.eks.compute`, the
timing in :mod:`sim.eks.lifecycle`.

Every request is authenticated (SigV4, the access key naming the caller) and,
when the caller has an IAM policy, authorized as EKS would (the operation on
its resource ARN, and ``iam:PassRole`` for a role the request hands over);
errors carry EKS's JSON body and ``x-amzn-ErrorType``, which is what botocore
reads the error code from.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Handler

from sim.aws.arns import canonicalize_arn
from sim.aws.iam import Decision, PolicySet, denial_message
from sim.aws.identities import (
    Identity,
    IdentityRegistry,
    UnknownAccessKeyError,
    random_access_key_id,
    random_secret_access_key,
)
from sim.aws.sigv4 import SignedRequest, SigV4Error, SigV4Problem
from sim.aws.times import utc_now
from sim.aws.token import make_eks_token
from sim.eks.clusters import MAX_TOKEN_TTL_SECONDS, Cluster, Clusters, KubeServers, Runtime
from sim.eks.compute import FARGATE_PROFILE, NODEGROUP, ComputeKind, ComputeResources
from sim.eks.errors import SIGV4_ERRORS, EksError
from sim.eks.lifecycle import FailureRule, Lifecycle, Timings
from sim.eks.wire import JsonObject, paginate, wire
from sim.faults import Fault, FaultConfig
from sim.kube import KubeSimulator
from sim.server import LOOPBACK, SimServer
from sim.sts import StsSimulator
from sim.tls import CertificateAuthority

SERVICE_ROLE_PATH: Final = "aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS"
MAX_REQUEST_BYTES: Final = 1024**2

Route = Callable[[web.Request], Awaitable[web.Response]]


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
        self.service_identity = Identity(
            access_key_id=random_access_key_id("ASIA"),
            arn=f"arn:aws:iam::{self.account}:role/{SERVICE_ROLE_PATH}",
            secret_access_key=random_secret_access_key(),
        )
        identities.add(self.service_identity)
        self.lifecycle = Lifecycle(timings if timings is not None else Timings.fast(), failures)
        self.kube_servers = KubeServers(
            sts=sts,
            admin_arn=canonicalize_arn(self.service_identity.caller_identity().arn),
            enabled=kube_servers,
            runtime=runtime,
            faults=kube_faults,
            token_ttl=token_ttl,
        )
        self._clusters = Clusters(
            region=region, account=self.account, lifecycle=self.lifecycle, kube=self.kube_servers
        )
        self._compute = ComputeResources(self._clusters, self.lifecycle, self.service_token)

    # -- public Python API ----------------------------------------------------------------------

    @property
    def timings(self) -> Timings:
        """The lifecycle durations."""
        return self.lifecycle.timings

    @property
    def token_ttl(self) -> float | None:
        """How old a bearer token the clusters accept, in seconds (None: STS's 15 minutes)."""
        return self.kube_servers.token_ttl

    @property
    def kube_faults(self) -> FaultConfig | None:
        """The faults the API servers of clusters that become ACTIVE from now on inject."""
        return self.kube_servers.faults

    @kube_faults.setter
    def kube_faults(self, faults: FaultConfig | None) -> None:
        self.kube_servers.faults = faults

    @property
    def clusters(self) -> Mapping[str, Cluster]:
        """Every cluster by name, with its node groups and Fargate profiles (read, never change)."""
        return self._clusters.all

    def add_failure(self, rule: FailureRule) -> None:
        """Add a failure rule (matched after the ones given at construction)."""
        self.lifecycle.add_failure(rule)

    def cluster(self, name: str) -> KubeSimulator:
        """The Kubernetes API server of an ACTIVE cluster.

        Raises:
            KeyError: no such cluster, or it has no API server (not ACTIVE yet, or ``kube_servers`` off).
        """
        cluster = self._clusters.find(name)
        if cluster is None or cluster.kube is None:
            raise KeyError(f"cluster {name!r} has no Kubernetes API server (unknown or not ACTIVE)")
        return cluster.kube

    def cluster_status(self, name: str) -> str | None:
        """The status of a cluster, or None when it does not exist."""
        cluster = self._clusters.find(name)
        return cluster.status if cluster is not None else None

    def describe_cluster(self, name: str) -> JsonObject:
        """The DescribeCluster ``cluster`` document, in-process.

        Raises:
            EksError: ResourceNotFoundException.
        """
        return wire(self._clusters.get(name).doc)

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
        caller = (creator or self.identities.default).caller_identity()
        return self._clusters.create(request, caller.arn, immediate=immediate)

    def delete_cluster(self, name: str) -> JsonObject:
        """Run DeleteCluster in-process.

        Raises:
            EksError: the error DeleteCluster answers over HTTP.
        """
        return self._clusters.delete(name)

    async def wait_cluster_active(self, name: str) -> JsonObject:
        """Wait until a cluster leaves CREATING; return its document.

        Raises:
            EksError: the cluster is gone or ended in another status than ACTIVE.
        """
        return await self._clusters.wait_active(name)

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

    async def on_close(self) -> None:
        """Stop lifecycle tasks and every cluster's Kubernetes API server."""
        await self.lifecycle.close()
        await self._clusters.close()

    # -- HTTP ------------------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        """Routes of the twelve operations, behind the SigV4 middleware."""
        app = web.Application(middlewares=[self._auth_middleware], client_max_size=MAX_REQUEST_BYTES)
        add = app.router.add_route
        add("POST", "/clusters", self._http_create_cluster)
        add("GET", "/clusters", self._http_list_clusters)
        add("GET", "/clusters/{name}", self._http_describe_cluster)
        add("DELETE", "/clusters/{name}", self._http_delete_cluster)
        for path, kind in (("node-groups", NODEGROUP), ("fargate-profiles", FARGATE_PROFILE)):
            add("POST", f"/clusters/{{name}}/{path}", self._create_compute_route(kind))
            add("GET", f"/clusters/{{name}}/{path}", self._list_compute_route(kind))
            add("GET", f"/clusters/{{name}}/{path}/{{item}}", self._describe_compute_route(kind))
            add("DELETE", f"/clusters/{{name}}/{path}/{{item}}", self._delete_compute_route(kind))
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
        try:
            request[self._IDENTITY_KEY] = await self._authenticate(request)
            return await handler(request)
        except EksError as error:
            return error.response()
        except web.HTTPException as exc:
            if exc.status in (404, 405):
                return EksError(exc.status, "UnknownOperationException", "Unknown operation.").response()
            raise

    async def _authenticate(self, request: web.Request) -> Identity:
        signed = await SignedRequest.read(request)
        try:
            identity, _info = self.identities.authenticate(signed, service="eks", now=utc_now())
        except SigV4Error as exc:
            status, code = SIGV4_ERRORS[exc.problem]
            message = "Missing Authentication Token" if exc.problem is SigV4Problem.MISSING else exc.message
            raise EksError(status, code, message) from None
        except UnknownAccessKeyError as exc:
            raise EksError(403, "UnrecognizedClientException", str(exc)) from None
        return identity

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

    @classmethod
    def _page(cls, request: web.Request, names: list[str], key: str) -> web.Response:
        page, token = paginate(names, request.query)
        document: JsonObject = {key: page}
        if token is not None:
            document["nextToken"] = token
        return cls._ok(document)

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

    # -- clusters --------------------------------------------------------------------------------

    async def _http_create_cluster(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        arn = self._clusters.arn("cluster", str(body.get("name") or "*"))
        self._authorize(request, "eks:CreateCluster", arn)
        self._authorize_pass_role(request, body.get("roleArn"))
        caller = request[self._IDENTITY_KEY].caller_identity()
        return self._ok({"cluster": self._clusters.create(body, caller.arn)})

    async def _http_describe_cluster(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self._authorize(request, "eks:DescribeCluster", self._clusters.arn("cluster", name))
        return self._ok({"cluster": self.describe_cluster(name)})

    async def _http_delete_cluster(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self._authorize(request, "eks:DeleteCluster", self._clusters.arn("cluster", name))
        return self._ok({"cluster": self._clusters.delete(name)})

    async def _http_list_clusters(self, request: web.Request) -> web.Response:
        self._authorize(request, "eks:ListClusters", "*")
        return self._page(request, list(self._clusters.all), "clusters")

    # -- node groups and Fargate profiles ----------------------------------------------------------

    def _create_compute_route(self, kind: ComputeKind) -> Route:
        async def create(request: web.Request) -> web.Response:
            body = await self._json_body(request)
            cluster_name = request.match_info["name"]
            self._authorize(
                request, f"eks:Create{kind.operation}", self._clusters.arn("cluster", cluster_name)
            )
            self._authorize_pass_role(request, body.get(kind.role_member))
            return self._ok({kind.document_key: self._compute.create(cluster_name, kind, body)})

        return create

    def _describe_compute_route(self, kind: ComputeKind) -> Route:
        async def describe(request: web.Request) -> web.Response:
            cluster_name, name = request.match_info["name"], request.match_info["item"]
            self._authorize(
                request, f"eks:Describe{kind.operation}", self._compute.arn(cluster_name, kind, name)
            )
            return self._ok({kind.document_key: wire(self._compute.get(cluster_name, kind, name).doc)})

        return describe

    def _delete_compute_route(self, kind: ComputeKind) -> Route:
        async def delete(request: web.Request) -> web.Response:
            cluster_name, name = request.match_info["name"], request.match_info["item"]
            self._authorize(
                request, f"eks:Delete{kind.operation}", self._compute.arn(cluster_name, kind, name)
            )
            return self._ok({kind.document_key: self._compute.delete(cluster_name, kind, name)})

        return delete

    def _list_compute_route(self, kind: ComputeKind) -> Route:
        async def list_(request: web.Request) -> web.Response:
            cluster_name = request.match_info["name"]
            self._authorize(
                request, f"eks:List{kind.operation}s", self._clusters.arn("cluster", cluster_name)
            )
            cluster = self._clusters.get(cluster_name)
            return self._page(request, list(cluster.compute(kind.kind)), kind.list_key)

        return list_
