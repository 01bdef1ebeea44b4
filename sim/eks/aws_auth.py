"""EKS's edits of a cluster's ``aws-auth``: a read-modify-write over the cluster's own Kubernetes API.

When a node group or Fargate profile becomes ACTIVE, EKS maps its role in
``kube-system/aws-auth`` (creating the ConfigMap if absent) so that its nodes
can join; when the last node group of a role is deleted, the role's entry
goes. EKS makes the edit as its service-linked role, through the API server,
like any client: this module does the same with an EKS bearer token, so
RBAC, faults and watches see the edit as they would see anyone's. The entries
themselves are computed by :mod:`sim.aws.aws_auth`.

A conflict or an injected fault is retried (:data:`AWS_AUTH_ATTEMPTS` times,
with a short exponential back-off); giving up is an :class:`AwsAuthError`.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from typing import Any, Final

import aiohttp

from sim.aws import aws_auth

JsonObject = dict[str, Any]
RoleMapping = tuple[str, str, tuple[str, ...]]
"""A role to map: its ARN, the username template, the groups."""

#: Enough for the edit to get through a cluster configured with heavy injected faults.
AWS_AUTH_ATTEMPTS: Final = 20
EDIT_TIMEOUT_SECONDS: Final = 10.0
_CONFIGMAPS_PATH: Final = f"/api/v1/namespaces/{aws_auth.NAMESPACE}/configmaps"


class AwsAuthError(Exception):
    """The ``aws-auth`` ConfigMap could not be updated through the cluster's Kubernetes API."""


async def edit_aws_auth(
    endpoint: str, ca_b64: str, token: str, *, add: RoleMapping | None = None, remove: str | None = None
) -> None:
    """Map a role in, or a role out of, a cluster's ``aws-auth``.

    Args:
        endpoint: The cluster's API server URL.
        ca_b64: The base64 PEM of its certificate authority.
        token: A bearer token the cluster accepts as an administrator.
        add: The role to map (kept as it is when already mapped).
        remove: The role whose entries go.

    Raises:
        AwsAuthError: every attempt failed; the message says how the last one did.
    """
    editor = _Editor(endpoint, ca_b64, token)
    await editor.edit(add=add, remove=remove)


class _Editor:
    """Read-modify-write of ``kube-system/aws-auth`` over the Kubernetes REST API, with retries."""

    def __init__(self, endpoint: str, ca_b64: str, token: str) -> None:
        self._endpoint = endpoint
        self._ssl = ssl.create_default_context(cadata=base64.b64decode(ca_b64).decode("ascii"))
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    async def edit(self, *, add: RoleMapping | None, remove: str | None) -> None:
        last_problem = "no attempt made"
        timeout = aiohttp.ClientTimeout(total=EDIT_TIMEOUT_SECONDS)
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
        self, session: aiohttp.ClientSession, *, add: RoleMapping | None, remove: str | None
    ) -> str | None:
        """One read-modify-write; None when done, else a retryable problem."""
        url = f"{self._endpoint}{_CONFIGMAPS_PATH}/{aws_auth.NAME}"
        async with session.get(url, ssl=self._ssl) as response:
            if response.status == 404:
                current: JsonObject | None = None
            elif response.status == 200:
                current = await response.json()
            else:
                return f"GET aws-auth answered {response.status}"
        if current is None:
            return None if add is None else await self._create(session, add)
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

    async def _create(self, session: aiohttp.ClientSession, add: RoleMapping) -> str | None:
        document: JsonObject = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": aws_auth.NAME, "namespace": aws_auth.NAMESPACE},
            "data": {"mapRoles": aws_auth.render_entries(aws_auth.with_role([], *add))},
        }
        async with session.post(
            f"{self._endpoint}{_CONFIGMAPS_PATH}", json=document, ssl=self._ssl
        ) as response:
            if response.status in (200, 201):
                return None
            return f"POST aws-auth answered {response.status}"
