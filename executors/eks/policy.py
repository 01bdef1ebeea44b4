"""The IAM permissions each EKS resource needs, from Step Functions' templates (spec §7).

Step Functions documents one template per API ("IAM policies for calling
Amazon EKS"); this module writes them as data and fills them in per Task:

* ``createCluster``: ``eks:CreateCluster`` on ``*``, ``iam:PassRole`` of the
  ``RoleArn`` (condition ``iam:PassedToService = eks.amazonaws.com``);
* ``createNodegroup``: ``ec2:DescribeSubnets`` and ``eks:CreateNodegroup`` on
  ``*``, ``iam:GetRole`` / ``iam:ListAttachedRolePolicies`` on the account's
  roles, ``iam:PassRole`` of the ``NodeRole``;
* ``createFargateProfile`` (no template; UNCONFIRMED, spec §7): the same
  shape, ``eks:CreateFargateProfile`` and ``iam:PassRole`` of the
  ``PodExecutionRoleArn``;
* ``.sync`` adds the Describe that polls the resource and, for creates, the
  Delete Step Functions uses to cancel an aborted Task (spec §7.1); a delete's
  ``.sync`` adds its Describe;
* ``deleteCluster`` / ``deleteNodegroup`` / ``deleteFargateProfile``: the
  Delete (+ Describe for ``.sync``) on the named resource;
* ``runJob`` and ``call`` need no IAM permission: they call Kubernetes, whose
  RBAC decides, with a token that only presigns ``sts:GetCallerIdentity``
  (which cannot be denied, spec §5).

ARNs are narrowed to the cluster, node group and Fargate profile names the
definition writes down, and widened to ``*`` where a path or a JSONata
expression supplies them (Step Functions' own rule for dynamic resources,
spec §7). Node group and Fargate profile ARNs end in a UUID EKS assigns, so
they always end in ``/*``.

When the role lacks a permission, EKS answers 403 ``AccessDeniedException``
and the Task fails with ``EKS.AccessDeniedException`` (cause in the Java-SDK
shape of every EKS API error). Spec §6 leaves the name UNCONFIRMED between
that and ``States.Permissions``; we chose the former because the integration
names every other EKS API exception ``EKS.<ExceptionName>``, so one Catch on
``EKS.AccessDeniedException`` works like the ones users write for
``EKS.ResourceInUseException``, while ``States.Permissions`` is what Step
Functions documents for its own refusal to run code, not for a service's answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from engine.executor import IntegrationPattern, PolicyStatement, PolicyTarget, StaticParameters

PASSED_TO_EKS: Final[Mapping[str, Mapping[str, str | list[str]]]] = {
    "StringEquals": {"iam:PassedToService": "eks.amazonaws.com"}
}
"""The ``iam:PassRole`` condition of every EKS template."""


@dataclass(frozen=True, slots=True)
class _Template:
    """One control-plane resource's permissions, as data.

    Attributes:
        operation: the IAM action of the call itself, e.g. ``eks:CreateCluster``.
        kind: ``cluster``, ``nodegroup`` or ``fargateprofile`` (the ARN's resource type).
        create: whether it creates (its call is on ``*``; ``.sync`` adds the cancelling Delete).
        describe: the Describe ``.sync`` polls with.
        delete: the Delete that cancels an aborted create.
        role_parameter: the parameter naming the role EKS is passed, if any.
        extra_any: further actions the template grants on ``*``.
        extra_roles: further actions the template grants on the account's roles.
    """

    operation: str
    kind: str
    create: bool
    describe: str
    delete: str
    role_parameter: str | None = None
    extra_any: tuple[str, ...] = ()
    extra_roles: tuple[str, ...] = ()


TEMPLATES: Final[Mapping[str, _Template]] = {
    "createCluster": _Template(
        "eks:CreateCluster", "cluster", True, "eks:DescribeCluster", "eks:DeleteCluster", "RoleArn"
    ),
    "deleteCluster": _Template("eks:DeleteCluster", "cluster", False, "eks:DescribeCluster", "eks:DeleteCluster"),
    "createNodegroup": _Template(
        "eks:CreateNodegroup", "nodegroup", True, "eks:DescribeNodegroup", "eks:DeleteNodegroup", "NodeRole",
        extra_any=("ec2:DescribeSubnets",), extra_roles=("iam:GetRole", "iam:ListAttachedRolePolicies"),
    ),
    "deleteNodegroup": _Template(
        "eks:DeleteNodegroup", "nodegroup", False, "eks:DescribeNodegroup", "eks:DeleteNodegroup"
    ),
    "createFargateProfile": _Template(
        "eks:CreateFargateProfile", "fargateprofile", True, "eks:DescribeFargateProfile",
        "eks:DeleteFargateProfile", "PodExecutionRoleArn",
    ),
    "deleteFargateProfile": _Template(
        "eks:DeleteFargateProfile", "fargateprofile", False, "eks:DescribeFargateProfile",
        "eks:DeleteFargateProfile",
    ),
}  # fmt: skip

KUBERNETES_ACTIONS: Final = frozenset({"runJob", "call"})
"""Resources that need no IAM permission (Kubernetes RBAC authorizes them)."""

_NAME_PARAMETERS: Final[Mapping[str, tuple[str, ...]]] = {
    # The cluster's own Create/Delete take ``Name``; compute resources name their cluster.
    "cluster": ("Name",),
    "nodegroup": ("ClusterName", "NodegroupName"),
    "fargateprofile": ("ClusterName", "FargateProfileName"),
}


def _static_string(parameters: StaticParameters, key: str) -> str | None:
    if parameters.dynamic is None or key in parameters.dynamic:
        return None
    value = parameters.known.get(key)
    return value if isinstance(value, str) and value else None


def resource_arn(kind: str, names: tuple[str | None, ...], target: PolicyTarget) -> str:
    """The EKS ARN of a resource, ``*`` for each name not known statically.

    ``cluster/NAME``, ``nodegroup/CLUSTER/NODEGROUP/*``,
    ``fargateprofile/CLUSTER/PROFILE/*`` (spec §7); a path made only of
    wildcards collapses to ``KIND/*``.
    """
    parts = [name if name is not None else "*" for name in names]
    if kind != "cluster":
        parts.append("*")  # the UUID EKS appends
    if all(part == "*" for part in parts):
        parts = ["*"]
    prefix = f"arn:{target.partition}:eks:{target.region}:{target.account}"
    return f"{prefix}:{kind}/{'/'.join(parts)}"


def eks_policy_statements(
    action: str, pattern: IntegrationPattern, parameters: StaticParameters, target: PolicyTarget
) -> list[PolicyStatement]:
    """The statements one EKS Task needs (see the module docstring).

    Args:
        action: the resource's action, e.g. ``createCluster``.
        pattern: request-response or ``.sync``.
        parameters: what the definition gives statically.
        target: partition, Region and account of the ARNs.

    Raises:
        KeyError: ``action`` is not an EKS resource.
    """
    if action in KUBERNETES_ACTIONS:
        return []
    template = TEMPLATES[action]
    names = tuple(_static_string(parameters, key) for key in _NAME_PARAMETERS[template.kind])
    arn = resource_arn(template.kind, names, target)
    sync = pattern is IntegrationPattern.SYNC
    statements: list[PolicyStatement] = []
    if template.create:
        statements.append(PolicyStatement((template.operation, *template.extra_any), ("*",)))
        if sync:
            statements.append(PolicyStatement((template.describe, template.delete), (arn,)))
    else:
        actions = (template.operation, template.describe) if sync else (template.operation,)
        statements.append(PolicyStatement(actions, (arn,)))
    if template.extra_roles:
        roles = f"arn:{target.partition}:iam::{target.account}:role/*"
        statements.append(PolicyStatement(template.extra_roles, (roles,)))
    if template.role_parameter is not None:
        role = _static_string(parameters, template.role_parameter) or "*"
        statements.append(PolicyStatement(("iam:PassRole",), (role,), PASSED_TO_EKS))
    if target.cleanup == "execution":
        statements.extend(cleanup_statements(action, parameters, target))
    return statements


def cleanup_statements(
    action: str, parameters: StaticParameters, target: PolicyTarget
) -> list[PolicyStatement]:
    """What the ``execution`` cleanup policy needs to delete what a create Task made.

    The cleanup describes and deletes the resource whatever the Task's
    pattern, so request-response creates need the ``.sync`` permissions too.
    """
    template = TEMPLATES.get(action)
    if template is None or not template.create:
        return []
    names = tuple(_static_string(parameters, key) for key in _NAME_PARAMETERS[template.kind])
    return [
        PolicyStatement((template.describe, template.delete), (resource_arn(template.kind, names, target),))
    ]


__all__ = ["PASSED_TO_EKS", "TEMPLATES", "cleanup_statements", "eks_policy_statements", "resource_arn"]
