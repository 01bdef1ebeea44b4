"""The whole simulated AWS side in one async context manager: STS, EKS and per-cluster Kubernetes.

``statewright sim``, ``statewright run --sim``, the pytest fixture and the
benchmarks all need the same thing: an STS and an EKS endpoint sharing one set
of identities and one certificate authority (whose PEM file clients trust via
``AWS_CA_BUNDLE``), optionally a ready cluster, and the environment, tokens and
kubeconfig a client needs. :class:`Simulators` starts them in dependency order
(STS first: the clusters resolve bearer tokens through it) and stops them in
reverse. Everything binds to loopback on port 0.

Tokens are minted here with the stdlib SigV4 presigner of :mod:`sim.aws.sigv4`:
the simulators never import botocore.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from sim.aws.arns import canonicalize_arn
from sim.aws.iam import Policy, PolicySet
from sim.aws.identities import (
    DEFAULT_ACCOUNT,
    Identity,
    IdentityRegistry,
    default_identity,
    parse_identity_option,
)
from sim.aws.times import utc_now
from sim.aws.token import make_eks_token
from sim.eks import EksSimulator, FailureRule, Runtime, Timings
from sim.faults import FaultConfig
from sim.kube import KubeSimulator
from sim.sts import StsSimulator
from sim.tls import CertificateAuthority

DEFAULT_REGION: Final = "us-east-1"
DEMO_CLUSTER_ROLE: Final = "statewright-sim-cluster"
DEMO_SUBNETS: Final = ("subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002")
POLL_ENV: Final = "STATEWRIGHT_POLL"
POLL_HINT_MIN_SECONDS: Final = 0.1
POLL_HINT_MAX_SECONDS: Final = 60.0
#: A secret used to sign for identities whose secret the simulators do not check.
UNCHECKED_SECRET: Final = "unchecked-secret"


def _policy(value: Policy | Mapping[str, Any] | str) -> Policy:
    return value if isinstance(value, Policy) else Policy.parse(value)


class Simulators:
    """STS + EKS (+ one Kubernetes API server per ACTIVE cluster), started together.

    Args:
        runtime: How each cluster runs Jobs (``model`` or ``process``), passed to the Kubernetes simulator.
        identities: Extra principals: :class:`Identity` objects or ``ACCESS_KEY_ID=ARN`` strings.
        timings: Lifecycle durations; :meth:`Timings.fast` when None.
        demo_cluster: Name of a cluster that exists and is ACTIVE once started; None for none.
        faults: Faults each cluster's Kubernetes API server injects.
        aws_faults: Faults the EKS and STS endpoints inject (AWS error documents, which botocore retries).
        failures: EKS failure rules (see :class:`FailureRule`).
        region: The region of ARNs and of the environment.
        account: The default identity's account.
        tls: HTTPS everywhere (default); False serves EKS and STS over plain HTTP.
        kube_servers: Start a Kubernetes API server per ACTIVE cluster.
        policy: An IAM policy (a :class:`Policy`, a document dict or JSON text) for the default
            identity: EKS then refuses what it does not allow with ``AccessDeniedException``.
        policies: IAM policies of other principals, by principal ARN (roles without path).
        token_ttl: The clusters' API servers refuse bearer tokens signed longer ago than this
            many seconds (at most 900); None keeps STS's 15 minutes.

    Attributes (once started):
        eks_url, sts_url: The endpoints.
        region: The region.
        access_key_id, secret_access_key: The default identity's credentials.
        ca_bundle_path: The PEM file of the CA of the EKS and STS endpoints (None without TLS).
        eks, sts: The simulators themselves.
    """

    def __init__(
        self,
        *,
        runtime: Runtime = "model",
        identities: Iterable[Identity | str] = (),
        timings: Timings | None = None,
        demo_cluster: str | None = "demo",
        faults: FaultConfig | None = None,
        aws_faults: FaultConfig | None = None,
        failures: Iterable[FailureRule] = (),
        region: str = DEFAULT_REGION,
        account: str = DEFAULT_ACCOUNT,
        tls: bool = True,
        kube_servers: bool = True,
        policy: Policy | Mapping[str, Any] | str | None = None,
        policies: Mapping[str, Policy | Mapping[str, Any] | str] | None = None,
        token_ttl: float | None = None,
    ) -> None:
        self.token_ttl = token_ttl
        extra = [parse_identity_option(i) if isinstance(i, str) else i for i in identities]
        self.identities = IdentityRegistry(extra, default=default_identity(account))
        self.policies = PolicySet(
            {canonicalize_arn(arn): _policy(doc) for arn, doc in (policies or {}).items()}
        )
        if policy is not None:
            self.policies.attach(canonicalize_arn(self.identities.default.arn), _policy(policy))
        self.runtime = runtime
        self.timings = timings if timings is not None else Timings.fast()
        self.demo_cluster = demo_cluster
        self.faults = faults
        self.aws_faults = aws_faults
        self.failures = tuple(failures)
        self.region = region
        self.tls = tls
        self.kube_servers = kube_servers
        self.ca: CertificateAuthority | None = CertificateAuthority() if tls else None
        self.ca_bundle_path: str | None = None
        self._sts: StsSimulator | None = None
        self._eks: EksSimulator | None = None
        self._tmpdir: str | None = None

    # -- life cycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start STS, then EKS, then the demo cluster (waited ACTIVE)."""
        if self._eks is not None:
            return
        try:
            if self.ca is not None:
                self._tmpdir = await asyncio.to_thread(tempfile.mkdtemp, prefix="statewright-sim-")
                path = str(Path(self._tmpdir) / "ca.pem")
                await asyncio.to_thread(self.ca.write_ca_file, path)
                self.ca_bundle_path = path
            self._sts = StsSimulator(
                identities=self.identities,
                region=self.region,
                ca=self.ca,
                tls=self.tls,
                faults=self.aws_faults,
            )
            await self._sts.start()
            self._eks = EksSimulator(
                identities=self.identities,
                sts=self._sts,
                region=self.region,
                timings=self.timings,
                failures=self.failures,
                runtime=self.runtime,
                kube_faults=self.faults,
                kube_servers=self.kube_servers,
                ca=self.ca,
                tls=self.tls,
                faults=self.aws_faults,
                policies=self.policies,
                token_ttl=self.token_ttl,
            )
            await self._eks.start()
            if self.demo_cluster is not None:
                await self._eks.create_cluster(
                    {
                        "name": self.demo_cluster,
                        "roleArn": f"arn:aws:iam::{self.account}:role/{DEMO_CLUSTER_ROLE}",
                        "resourcesVpcConfig": {"subnetIds": list(DEMO_SUBNETS)},
                    },
                    immediate=True,
                )
                await self._eks.wait_cluster_active(self.demo_cluster)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Stop everything (clusters, EKS, STS) and delete the CA file; safe to call more than once."""
        eks, self._eks = self._eks, None
        sts, self._sts = self._sts, None
        try:
            if eks is not None:
                await eks.close()
        finally:
            if sts is not None:
                await sts.close()
            tmpdir, self._tmpdir = self._tmpdir, None
            if tmpdir is not None:
                await asyncio.to_thread(shutil.rmtree, tmpdir, True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- what clients need -----------------------------------------------------------------------

    @property
    def eks(self) -> EksSimulator:
        """The EKS simulator."""
        if self._eks is None:
            raise RuntimeError("the simulators are not started")
        return self._eks

    @property
    def sts(self) -> StsSimulator:
        """The STS simulator."""
        if self._sts is None:
            raise RuntimeError("the simulators are not started")
        return self._sts

    @property
    def eks_url(self) -> str:
        """The EKS endpoint URL."""
        return self.eks.url

    @property
    def sts_url(self) -> str:
        """The STS endpoint URL."""
        return self.sts.url

    @property
    def account(self) -> str:
        """The default identity's account (the account of every simulated ARN)."""
        return self.identities.default.account

    @property
    def access_key_id(self) -> str:
        """The default identity's access key ID."""
        return self.identities.default.access_key_id

    @property
    def secret_access_key(self) -> str:
        """The default identity's secret access key."""
        return self.identities.default.secret_access_key or UNCHECKED_SECRET

    def poll_hint(self) -> str:
        """A ``.sync`` poll policy that suits these simulators' timings (``STATEWRIGHT_POLL``).

        AWS's cadence (a look a minute) fits resources that take minutes; here
        the shortest lifecycle phase takes ``min(phases)`` seconds, so waits look
        five times per phase, between 0.1 and 60 seconds apart.
        """
        phases = [
            self.timings.seconds(kind, phase)
            for kind in ("cluster", "nodegroup", "fargate_profile")
            for phase in ("create", "delete")
        ]
        interval = min(max(min(phases) / 5, POLL_HINT_MIN_SECONDS), POLL_HINT_MAX_SECONDS)
        return f"watch:{interval:g}"

    def env(self) -> dict[str, str]:
        """The environment an AWS client needs to talk to these simulators as the default identity.

        Besides the ``AWS_*`` variables, ``STATEWRIGHT_POLL`` names a poll policy
        suited to the simulators (:meth:`poll_hint`), which ``statewright run``
        takes as the default of ``--poll``; other AWS clients ignore it.
        """
        env = {
            "AWS_ENDPOINT_URL_EKS": self.eks_url,
            "AWS_ENDPOINT_URL_STS": self.sts_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            POLL_ENV: self.poll_hint(),
        }
        if self.ca_bundle_path is not None:
            env["AWS_CA_BUNDLE"] = self.ca_bundle_path
        return env

    def cluster(self, name: str) -> KubeSimulator:
        """The Kubernetes API server of an ACTIVE cluster.

        Raises:
            KeyError: the cluster is unknown or not ACTIVE.
        """
        return self.eks.cluster(name)

    def token(self, cluster_name: str, access_key_id: str | None = None) -> str:
        """An EKS bearer token for ``cluster_name``, as ``aws eks get-token`` makes it.

        Args:
            cluster_name: The cluster the token is for (signed ``x-k8s-aws-id``).
            access_key_id: The identity to sign as; the default identity when None.

        Raises:
            KeyError: the access key is not one of the simulators' identities.
        """
        identity = self.identities.default if access_key_id is None else self.identities.get(access_key_id)
        if identity is None:
            raise KeyError(f"unknown access key ID {access_key_id!r}")
        return make_eks_token(
            sts_url=self.sts_url,
            cluster_name=cluster_name,
            access_key_id=identity.access_key_id,
            secret_access_key=identity.secret_access_key or UNCHECKED_SECRET,
            region=self.region,
            now=utc_now(),
        )

    def kubeconfig(self, cluster_name: str, access_key_id: str | None = None) -> dict[str, Any]:
        """A kubeconfig (as a dict, ready for YAML) for an ACTIVE cluster with a fresh token.

        The token lasts 15 minutes; rewrite the kubeconfig before then.

        Raises:
            EksError: ResourceNotFoundException for an unknown cluster.
            KeyError: the cluster has no endpoint yet, or the access key is unknown.
        """
        doc = self.eks.describe_cluster(cluster_name)
        endpoint = doc.get("endpoint")
        ca_data = doc.get("certificateAuthority", {}).get("data")
        if not endpoint or not ca_data:
            raise KeyError(f"cluster {cluster_name!r} has no endpoint yet (status {doc['status']})")
        name: str = doc["arn"]
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
            ],
            "users": [{"name": name, "user": {"token": self.token(cluster_name, access_key_id)}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "preferences": {},
        }
