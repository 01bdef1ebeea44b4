"""Authentication modelled on EKS: a bearer token becomes a Kubernetes user, or 401.

Authentication turns a bearer token into a Kubernetes user:

* a static token (standalone use) is a user in ``system:masters``;
* an EKS token is checked for form and age by :func:`sim.aws.token.decode_eks_token`
  (the one decoder, with aws-iam-authenticator's rules) against the STS endpoints
  the cluster trusts, then handed to the pluggable :data:`IdentityResolver` (the
  EKS simulator asks its STS simulator who signed it). Results are cached per
  token for a minute, never beyond the token's own expiry.
* The identity is then mapped: a cluster admin ARN (the creator) becomes
  ``kubernetes-admin`` in ``system:masters``; anything else must be mapped by the
  ``aws-auth`` ConfigMap in ``kube-system`` (read by :mod:`sim.aws.aws_auth`),
  or the request is 401 Unauthorized.

Authorization (RBAC) is in :mod:`sim.kube.rbac`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from sim.aws import aws_auth
from sim.aws.arns import canonicalize_arn
from sim.aws.aws_auth import AwsAuthMap, render_username
from sim.aws.identities import AwsIdentity
from sim.aws.token import StsEndpoints, TokenError, decode_eks_token
from sim.kube.store import Store

logger = logging.getLogger(__name__)
TOKEN_LIFETIME_SECONDS: Final = 15 * 60
RESOLVER_CACHE_SECONDS: Final = 60.0
ADMIN_USERNAME: Final = "kubernetes-admin"
MASTERS: Final = "system:masters"
AUTHENTICATED: Final = "system:authenticated"

IdentityResolver = Callable[[str], Awaitable[AwsIdentity | None]]


@dataclass(frozen=True)
class UserInfo:
    """An authenticated Kubernetes user."""

    username: str
    groups: tuple[str, ...]
    uid: str = ""

    @property
    def is_master(self) -> bool:
        """Whether the user is in ``system:masters``."""
        return MASTERS in self.groups


class Authenticator:
    """Bearer token → :class:`UserInfo`, the way an EKS cluster decides.

    Args:
        store: where the ``aws-auth`` ConfigMap lives.
        resolver: turns an EKS token into the identity that signed it.
        admin_arns: identities that are cluster administrators (the creator).
        static_tokens: token → username, all in ``system:masters``.
    """

    def __init__(
        self,
        store: Store,
        resolver: IdentityResolver | None,
        admin_arns: Iterable[str],
        static_tokens: Mapping[str, str] | None,
    ) -> None:
        self.store = store
        self.resolver = resolver
        self.admin_arns = {canonicalize_arn(arn).lower() for arn in admin_arns}
        self.static: dict[str, UserInfo] = {
            token: UserInfo(name, (MASTERS, AUTHENTICATED)) for token, name in (static_tokens or {}).items()
        }
        self._cache: dict[str, tuple[float, AwsIdentity | None]] = {}
        self.token_lifetime: float = TOKEN_LIFETIME_SECONDS
        """How long after signing a token is accepted (``statewright sim --token-ttl`` shortens it)."""
        self.sts_endpoints: StsEndpoints = StsEndpoints.standalone()
        """The STS endpoints tokens may be presigned for (an EKS cluster trusts only its own STS)."""
        self.refused = 0
        """Tokens refused so far (expired, malformed, unknown signer)."""
        self._aws_auth_rv: str | None = None
        self._aws_auth = AwsAuthMap.empty()

    def add_admin(self, arn: str) -> None:
        """Treat ``arn`` as a cluster administrator."""
        self.admin_arns.add(canonicalize_arn(arn).lower())

    def add_static_token(self, token: str, username: str) -> None:
        """Accept ``token`` as ``username`` in ``system:masters``."""
        self.static[token] = UserInfo(username, (MASTERS, AUTHENTICATED))

    async def authenticate(self, authorization: str | None) -> UserInfo | None:
        """The user behind an ``Authorization`` header, or None (→ 401)."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        token = authorization[7:].strip()
        user = self.static.get(token)
        if user is not None:
            return user
        identity = await self._identity(token)
        if identity is None:
            self.refused += 1
            return None
        return self.map_identity(identity)

    async def _identity(self, token: str) -> AwsIdentity | None:
        now = time.monotonic()
        cached = self._cache.get(token)
        if cached is not None and cached[0] > now:
            return cached[1]
        if self.resolver is None:
            return None
        wall = dt.datetime.now(dt.UTC)
        try:
            decoded = decode_eks_token(
                token,
                trusted=self.sts_endpoints,
                now=wall,
                lifetime=dt.timedelta(seconds=self.token_lifetime),
            )
        except TokenError:
            return None
        try:
            identity = await self.resolver(token)
        except Exception:
            # aws-iam-authenticator answers any verification failure with 401; so does the simulator.
            logger.warning("the identity resolver failed; answering 401", exc_info=True)
            return None
        if len(self._cache) > 10_000:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
        remaining = (decoded.expires_at - wall).total_seconds()
        self._cache[token] = (now + min(RESOLVER_CACHE_SECONDS, max(0.0, remaining)), identity)
        return identity

    def map_identity(self, identity: AwsIdentity) -> UserInfo | None:
        """Map an AWS identity to a Kubernetes user (admin, aws-auth entry) or None."""
        arn = canonicalize_arn(identity.arn)
        if arn.lower() in self.admin_arns:
            return UserInfo(ADMIN_USERNAME, (MASTERS, AUTHENTICATED), identity.user_id)
        table = self._aws_auth_map()
        entry = table.lookup(arn)
        if entry is None:
            if identity.account in table.accounts:
                return UserInfo(arn, (AUTHENTICATED,), identity.user_id)
            return None
        username = render_username(entry.username or arn, identity)
        if username is None:
            return None
        return UserInfo(username, (*entry.groups, AUTHENTICATED), identity.user_id)

    def _aws_auth_map(self) -> AwsAuthMap:
        configmap = self.store.get("", "configmaps", aws_auth.NAMESPACE, aws_auth.NAME)
        rv = None if configmap is None else str(configmap["metadata"].get("resourceVersion"))
        if rv != self._aws_auth_rv:
            self._aws_auth_rv = rv
            self._aws_auth = AwsAuthMap.from_data((configmap or {}).get("data") or {})
        return self._aws_auth
