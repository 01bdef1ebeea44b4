"""The AWS principals the simulators know, and how a signed request is tied to one.

AWS learns the caller from the access key in a request's SigV4 credentials.
The simulators do the same with an :class:`IdentityRegistry`: access key ID →
:class:`Identity` (its secret, or None when the secret is not checked, and its
ARN). There is always a default identity — an IAM role in a 12-digit account
with fresh random keys per run — whose credentials ``statewright sim --env``
writes; more principals come from ``--identity ACCESS_KEY_ID=ARN``.

Two views of a principal follow from it: what STS ``GetCallerIdentity``
answers (:class:`CallerIdentity`: a role's credentials are those of an
*assumed-role session*, so STS answers an ``sts`` assumed-role ARN and a
``ROLEID:SESSION`` user ID), and what a cluster's authenticator makes of that
answer (:class:`AwsIdentity`: the canonical ARN, the user ID and the session
name apart), which ``aws-auth`` username templates are expanded with.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from sim.aws.arns import ArnError, account_of, canonicalize_arn, validate_principal_arn
from sim.aws.sigv4 import (
    SignedRequest,
    SignedRequestInfo,
    SigV4Error,
    SigV4Problem,
    check_signing_time,
    parse_authorization_header,
    parse_presigned_query,
    verify_signature,
)

DEFAULT_ACCOUNT: Final = "111122223333"
DEFAULT_ROLE_NAME: Final = "statewright-sim"
#: The session name STS reports for a role identity's credentials.
DEFAULT_SESSION_NAME: Final = "statewright-sim"

_KEY_ALPHABET: Final = string.ascii_uppercase + string.digits
_SECRET_ALPHABET: Final = string.ascii_letters + string.digits + "+/"


class IdentityConfigError(ValueError):
    """An identity given on the command line or to the Python API is not valid."""


class UnknownAccessKeyError(Exception):
    """A request is signed with an access key the simulators do not know.

    Attributes:
        access_key_id: The unknown key (an access key ID is not a secret).
    """

    def __init__(self, access_key_id: str) -> None:
        super().__init__("The security token included in the request is invalid.")
        self.access_key_id = access_key_id


@dataclass(frozen=True, slots=True)
class CallerIdentity:
    """What STS ``GetCallerIdentity`` returns for a principal."""

    arn: str
    user_id: str
    account: str


@dataclass(frozen=True, slots=True)
class AwsIdentity:
    """Who presented an EKS token, as a cluster's authenticator learns it from STS.

    Attributes:
        arn: The canonical ARN (:func:`sim.aws.arns.canonicalize_arn`: an assumed-role
            session becomes its role).
        account: The 12-digit account ID.
        user_id: The unique ID (``AROA...`` for a role, ``AIDA...`` for a user), without the session.
        session_name: The role session name for an assumed role, else empty.
    """

    arn: str
    account: str
    user_id: str = ""
    session_name: str = ""

    @classmethod
    def from_caller(cls, caller: CallerIdentity) -> AwsIdentity:
        """What aws-iam-authenticator makes of a ``GetCallerIdentity`` answer."""
        user_id, _, session_name = caller.user_id.partition(":")
        return cls(
            arn=canonicalize_arn(caller.arn),
            account=caller.account,
            user_id=user_id,
            session_name=session_name,
        )


@dataclass(frozen=True, slots=True)
class Identity:
    """An AWS principal and its long-term credentials.

    Attributes:
        access_key_id: The access key ID clients sign with.
        arn: The principal: ``arn:aws:iam::ACCT:role/NAME``, ``…:user/NAME``, ``…:root``
            or ``arn:aws:sts::ACCT:assumed-role/ROLE/SESSION``.
        secret_access_key: The secret; None means signatures by this key are not checked.
    """

    access_key_id: str
    arn: str
    secret_access_key: str | None = None

    def __post_init__(self) -> None:
        if not self.access_key_id or not self.access_key_id.isalnum():
            raise IdentityConfigError("an access key ID must be a non-empty alphanumeric string")
        validate_arn(self.arn)

    @property
    def account(self) -> str:
        """The 12-digit account of the principal."""
        return account_of(self.arn)

    def caller_identity(self, session_name: str = DEFAULT_SESSION_NAME) -> CallerIdentity:
        """What STS ``GetCallerIdentity`` answers when this identity calls it."""
        return caller_identity_for(self.arn, session_name)


def validate_arn(arn: str) -> None:
    """Check that ``arn`` names an IAM/STS principal the simulators can represent.

    Raises:
        IdentityConfigError: with a message saying which forms are accepted.
    """
    try:
        validate_principal_arn(arn)
    except ArnError as exc:
        raise IdentityConfigError(str(exc)) from None


def _stable_id(prefix: str, arn: str) -> str:
    digest = hashlib.sha256(arn.encode()).digest()
    return prefix + "".join(_KEY_ALPHABET[b % len(_KEY_ALPHABET)] for b in digest[:17])


def caller_identity_for(arn: str, session_name: str = DEFAULT_SESSION_NAME) -> CallerIdentity:
    """What STS reports for credentials of ``arn``.

    A role's credentials are an assumed-role session: STS reports
    ``arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`` (no path) and ``ROLEID:SESSION``.
    """
    partition, _service, account = arn.split(":")[1], arn.split(":")[2], account_of(arn)
    resource = arn.split(":", 5)[5]
    if resource == "root":
        return CallerIdentity(arn=arn, user_id=account, account=account)
    kind, _, rest = resource.partition("/")
    if kind == "role":
        role_name = rest.rsplit("/", 1)[-1]
        role_arn = f"arn:{partition}:iam::{account}:role/{role_name}"
        return CallerIdentity(
            arn=f"arn:{partition}:sts::{account}:assumed-role/{role_name}/{session_name}",
            user_id=f"{_stable_id('AROA', role_arn)}:{session_name}",
            account=account,
        )
    if kind == "assumed-role":
        role_name, _, session = rest.partition("/")
        role_arn = f"arn:{partition}:iam::{account}:role/{role_name}"
        return CallerIdentity(arn=arn, user_id=f"{_stable_id('AROA', role_arn)}:{session}", account=account)
    return CallerIdentity(arn=arn, user_id=_stable_id("AIDA", arn), account=account)


def random_access_key_id(prefix: str = "AKIA") -> str:
    """A fresh random access key ID (20 characters, like AWS's)."""
    return prefix + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))


def random_secret_access_key() -> str:
    """A fresh random secret access key (40 characters, like AWS's)."""
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


def default_identity(account: str = DEFAULT_ACCOUNT, role_name: str = DEFAULT_ROLE_NAME) -> Identity:
    """The default principal: an IAM role with fresh random keys."""
    return Identity(
        access_key_id=random_access_key_id("ASIA"),
        arn=f"arn:aws:iam::{account}:role/{role_name}",
        secret_access_key=random_secret_access_key(),
    )


def parse_identity_option(value: str) -> Identity:
    """Parse ``ACCESS_KEY_ID=ARN`` or ``ACCESS_KEY_ID:SECRET=ARN`` (the ``--identity`` option).

    Without a secret, signatures made with that key are not checked.

    Raises:
        IdentityConfigError: the value does not have that form or the ARN is not a principal.
    """
    key_part, sep, arn = value.partition("=")
    if not sep or not key_part or not arn:
        raise IdentityConfigError(
            "an identity must be given as ACCESS_KEY_ID=ARN or ACCESS_KEY_ID:SECRET=ARN"
        )
    access_key_id, has_secret, secret = key_part.partition(":")
    if has_secret and not secret:
        raise IdentityConfigError("the secret after ':' must not be empty")
    return Identity(access_key_id=access_key_id, arn=arn, secret_access_key=secret or None)


class IdentityRegistry:
    """Access key ID → :class:`Identity`, and the SigV4 check of incoming requests.

    Args:
        identities: Principals besides the default one.
        default: The default principal; a fresh :func:`default_identity` when None.
        verify_signatures: Check signatures of identities whose secret is known.
    """

    def __init__(
        self,
        identities: Iterable[Identity] = (),
        *,
        default: Identity | None = None,
        verify_signatures: bool = True,
    ) -> None:
        self.default = default if default is not None else default_identity()
        self.verify_signatures = verify_signatures
        self._by_key: dict[str, Identity] = {self.default.access_key_id: self.default}
        for identity in identities:
            self.add(identity)

    def add(self, identity: Identity) -> None:
        """Add (or replace) a principal."""
        self._by_key[identity.access_key_id] = identity

    def get(self, access_key_id: str) -> Identity | None:
        """The principal for an access key, or None."""
        return self._by_key.get(access_key_id)

    def __iter__(self) -> Iterable[Identity]:
        return iter(list(self._by_key.values()))

    def authenticate(
        self,
        request: SignedRequest,
        *,
        service: str,
        now: dt.datetime,
        query_pairs: list[tuple[str, str]] | None = None,
    ) -> tuple[Identity, SignedRequestInfo]:
        """Find and check the principal that signed a request.

        Args:
            request: The request as sent.
            service: The signing name this endpoint expects (``eks`` or ``sts``).
            now: The current time.
            query_pairs: The request's query already decoded, when the caller has it.

        Raises:
            SigV4Error: credentials missing, malformed, expired or with a wrong signature.
            UnknownAccessKeyError: the access key is not known.
        """
        if query_pairs is None:
            query_pairs = request.query_pairs()
        headers = request.headers
        authorization = headers.get("authorization")
        if authorization:
            amz_date = headers.get("x-amz-date")
            info = parse_authorization_header(authorization[0], amz_date[0] if amz_date else None)
        elif any(key == "X-Amz-Credential" for key, _ in query_pairs):
            info = parse_presigned_query(dict(query_pairs))
        else:
            raise SigV4Error(SigV4Problem.MISSING, "Missing Authentication Token")
        if info.service != service:
            raise SigV4Error(
                SigV4Problem.MALFORMED,
                f"Credential should be scoped to correct service: '{service}'.",
            )
        identity = self.get(info.access_key_id)
        if identity is None:
            raise UnknownAccessKeyError(info.access_key_id)
        check_signing_time(info, now)
        if self.verify_signatures and identity.secret_access_key is not None:
            verify_signature(
                secret_access_key=identity.secret_access_key,
                info=info,
                method=request.method,
                raw_path=request.raw_path,
                query_pairs=query_pairs,
                headers=headers,
                body=request.body,
            )
        return identity, info
