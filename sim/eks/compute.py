"""Node groups and Fargate profiles: one creation and one deletion path, parametrised by kind.

EKS's two kinds of compute differ in their request members and document, and
in a few rules, but not in how they live: both are created on an ACTIVE
cluster in ``CREATING``, have their role mapped in ``aws-auth`` when they
become ``ACTIVE``, and are deleted through ``DELETING``. A :class:`ComputeKind`
holds everything that differs (member names, messages, the ``aws-auth``
groups and username, whether profiles must wait for each other); a kind's
request parser turns the members into a :class:`ComputeRequest`; and
:class:`ComputeResources` runs the one path for both.

Rules enforced as EKS does: required members and types
(``InvalidParameterException``), a duplicate name (``ResourceInUseException``,
unless an identical retry with the same ``clientRequestToken``), unknown names
(``ResourceNotFoundException``), compute on a cluster that is not ACTIVE
(``InvalidRequestException``), deleting while CREATING, and one Fargate
profile per cluster CREATING or DELETING at a time. Deleting the last node
group of a role removes that role's ``aws-auth`` entry (spec §9.2).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from sim.aws.arns import ROLE_ARN_RE, canonicalize_arn
from sim.eks.aws_auth import AwsAuthError, RoleMapping, edit_aws_auth
from sim.eks.clusters import Cluster, Clusters, Compute
from sim.eks.errors import EksError, in_use, invalid_parameter, not_found
from sim.eks.lifecycle import Lifecycle, ResourceKind
from sim.eks.wire import JsonObject, Members, now_epoch, short_id, wire

_log = logging.getLogger(__name__)

MAX_FARGATE_SELECTORS: Final = 5
MAX_SELECTOR_LABELS: Final = 5
_COMPUTE_NAME_RE: Final = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]*$")
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


@dataclass(frozen=True, slots=True)
class ComputeRequest:
    """A validated create request of either kind.

    Attributes:
        role_arn: The role the compute runs as (mapped in ``aws-auth`` once ACTIVE).
        client_request_token: The idempotency token, if sent.
        document: Builds the document's members after name, ARN and cluster name, given the
            cluster and the creation time.
    """

    role_arn: str
    client_request_token: str | None
    document: Callable[[Cluster, float], JsonObject]


@dataclass(frozen=True, slots=True)
class ComputeKind:
    """What differs between node groups and Fargate profiles.

    Attributes:
        kind: ``nodegroup`` or ``fargate_profile``.
        name_member: The request and document member of the name.
        arn_member: The document member of the ARN.
        arn_type: The resource type in the ARN.
        label: The word in EKS's messages (``Nodegroup``, ``Fargate Profile``).
        operation: The operation names' suffix (``CreateNodegroup``, ``ListFargateProfiles``).
        document_key: The response member holding the document.
        list_key: The List operation's response member.
        role_member: The request member naming the role (checked for ``iam:PassRole``).
        max_name_length: The longest name EKS accepts.
        name_rule: The InvalidParameterException message for a bad name.
        parse: Checks the kind's own members (after the name) into a :class:`ComputeRequest`.
        aws_auth_username: The username template EKS maps the role with.
        aws_auth_groups: The groups EKS maps the role to.
        one_transition_at_a_time: Only one resource of the kind per cluster may be CREATING or DELETING.
        tracks_modified_at: The document has a ``modifiedAt`` touched on every transition.
        unmaps_role_on_delete: Deleting the last resource of a role removes it from ``aws-auth``.
    """

    kind: ResourceKind
    name_member: str
    arn_member: str
    arn_type: str
    label: str
    operation: str
    document_key: str
    list_key: str
    role_member: str
    max_name_length: int
    name_rule: str
    parse: Callable[[Members, str, str], ComputeRequest]
    aws_auth_username: str
    aws_auth_groups: tuple[str, ...]
    one_transition_at_a_time: bool
    tracks_modified_at: bool
    unmaps_role_on_delete: bool

    def fields(self, cluster_name: str, name: str) -> dict[str, str]:
        """The resource names EKS puts beside an error's message."""
        return {"clusterName": cluster_name, self.name_member: name}

    def not_found(self, cluster_name: str, name: str) -> EksError:
        """ResourceNotFoundException for a name the cluster does not hold."""
        if self.kind == "nodegroup":
            message = f"No node group found for name: {name}."
        else:
            message = f"No Fargate Profile found with name: {name}."
        return not_found(message, **self.fields(cluster_name, name))

    def already_exists(self, cluster_name: str, name: str) -> EksError:
        """ResourceInUseException for a name the cluster already holds."""
        if self.kind == "nodegroup":
            return in_use(
                f"NodeGroup already exists with name {name} and cluster name {cluster_name}",
                **self.fields(cluster_name, name),
            )
        return in_use(
            "A Fargate Profile already exists with this name in this cluster.", clusterName=cluster_name
        )

    def still_creating(self, cluster_name: str, name: str) -> EksError:
        """ResourceInUseException for deleting a resource still CREATING."""
        fields = (
            self.fields(cluster_name, name) if self.kind == "nodegroup" else {"clusterName": cluster_name}
        )
        return in_use(f"{self.label} {name} is currently being created and cannot be deleted.", **fields)

    def resource_id(self, name: str) -> str:
        """The id EKS names in a health issue's ``resourceIds``."""
        return f"eks-{name}" if self.kind == "nodegroup" else name


# -- node groups -------------------------------------------------------------------------------------


def _parse_nodegroup(m: Members, cluster_name: str, name: str) -> ComputeRequest:
    fields = {"clusterName": cluster_name, "nodegroupName": name}
    subnets = m.strings("subnets", required=True, non_empty=True)
    node_role = m.required_string("nodeRole")
    if not ROLE_ARN_RE.match(node_role):
        raise invalid_parameter(f"nodeRole {node_role!r} is not a valid IAM role ARN.", **fields)
    scaling = m.obj("scalingConfig")
    min_size = scaling.integer("minSize", minimum=0) if scaling else None
    max_size = scaling.integer("maxSize", minimum=1) if scaling else None
    desired = scaling.integer("desiredSize", minimum=0) if scaling else None
    min_size = 1 if min_size is None else min_size
    max_size = max(2, min_size) if max_size is None else max_size
    desired = max(min_size, min(2, max_size)) if desired is None else desired
    if not min_size <= desired <= max_size:
        raise invalid_parameter(
            "Requested Nodegroup scaling config is invalid: minSize <= desiredSize <= maxSize must hold.",
            **fields,
        )
    disk_size = m.integer("diskSize", minimum=1)
    instance_types = m.strings("instanceTypes")
    ami_type = m.enum("amiType", _AMI_TYPES)
    capacity_type = m.enum("capacityType", _CAPACITY_TYPES) or "ON_DEMAND"
    labels = m.string_map("labels", max_length=63)
    taints = _taints(m, fields)
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

    def document(cluster: Cluster, now: float) -> JsonObject:
        cluster_version: str = cluster.doc["version"]
        doc: JsonObject = {
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
            "updateConfig": wire(update_config.body) if update_config else {"maxUnavailable": 1},
            "tags": tags,
        }
        if remote_access is not None:
            doc["remoteAccess"] = wire(remote_access.body)
        if taints is not None:
            doc["taints"] = taints
        if launch_template is not None:
            doc["launchTemplate"] = wire(launch_template.body)
        return doc

    return ComputeRequest(role_arn=node_role, client_request_token=token, document=document)


def _taints(m: Members, fields: dict[str, str]) -> list[JsonObject] | None:
    taints = m.raw("taints")
    if taints is None:
        return None
    if not isinstance(taints, list):
        raise invalid_parameter("taints must be a list.", **fields)
    result: list[JsonObject] = []
    for taint in taints:
        if not isinstance(taint, dict):
            raise invalid_parameter("each taint must be an object.", **fields)
        t = Members(taint, **fields)
        key = t.string("key")
        value = t.string("value")
        effect = t.enum("effect", _TAINT_EFFECTS)
        if (key is not None and not 1 <= len(key) <= 63) or (value is not None and len(value) > 63):
            raise invalid_parameter("taint keys must be 1 to 63 characters and values at most 63.", **fields)
        result.append(
            {k: v for k, v in (("key", key), ("value", value), ("effect", effect)) if v is not None}
        )
    return result


# -- Fargate profiles -------------------------------------------------------------------------------


def _parse_fargate_profile(m: Members, cluster_name: str, name: str) -> ComputeRequest:
    fields = {"clusterName": cluster_name, "fargateProfileName": name}
    role_arn = m.required_string("podExecutionRoleArn")
    if not ROLE_ARN_RE.match(role_arn):
        raise invalid_parameter(f"podExecutionRoleArn {role_arn!r} is not a valid IAM role ARN.", **fields)
    subnets = m.strings("subnets")
    selectors = _selectors(m, fields)
    token = m.string("clientRequestToken")
    tags = m.tags()

    def document(cluster: Cluster, now: float) -> JsonObject:
        cluster_subnets: list[str] = cluster.doc["resourcesVpcConfig"]["subnetIds"]
        return {
            "createdAt": now,
            "podExecutionRoleArn": role_arn,
            "subnets": subnets if subnets is not None else list(cluster_subnets),
            "selectors": selectors,
            "status": "CREATING",
            "tags": tags,
            "health": {"issues": []},
        }

    return ComputeRequest(role_arn=role_arn, client_request_token=token, document=document)


def _selectors(m: Members, fields: dict[str, str]) -> list[JsonObject]:
    selectors = m.raw("selectors")
    if selectors is None:
        return []
    if not isinstance(selectors, list):
        raise invalid_parameter("selectors must be a list.", **fields)
    if len(selectors) > MAX_FARGATE_SELECTORS:
        raise invalid_parameter(
            f"A Fargate profile can have at most {MAX_FARGATE_SELECTORS} selectors.", **fields
        )
    result: list[JsonObject] = []
    for selector in selectors:
        if not isinstance(selector, dict):
            raise invalid_parameter("each selector must be an object.", **fields)
        s = Members(selector, **fields)
        namespace = s.string("namespace")
        if not namespace:
            raise invalid_parameter("Every Fargate profile selector must specify a namespace.", **fields)
        labels = s.string_map("labels", max_entries=MAX_SELECTOR_LABELS)
        entry: JsonObject = {"namespace": namespace}
        if labels:
            entry["labels"] = labels
        result.append(entry)
    return result


NODEGROUP: Final = ComputeKind(
    kind="nodegroup",
    name_member="nodegroupName",
    arn_member="nodegroupArn",
    arn_type="nodegroup",
    label="Nodegroup",
    operation="Nodegroup",
    document_key="nodegroup",
    list_key="nodegroups",
    role_member="nodeRole",
    max_name_length=63,
    name_rule=(
        "The node group name must be 1 to 63 characters, start with a letter or digit and "
        "contain only letters, digits, hyphens and underscores."
    ),
    parse=_parse_nodegroup,
    aws_auth_username="system:node:{{EC2PrivateDNSName}}",
    aws_auth_groups=("system:bootstrappers", "system:nodes"),
    one_transition_at_a_time=False,
    tracks_modified_at=True,
    unmaps_role_on_delete=True,
)
FARGATE_PROFILE: Final = ComputeKind(
    kind="fargate_profile",
    name_member="fargateProfileName",
    arn_member="fargateProfileArn",
    arn_type="fargateprofile",
    label="Fargate Profile",
    operation="FargateProfile",
    document_key="fargateProfile",
    list_key="fargateProfileNames",
    role_member="podExecutionRoleArn",
    max_name_length=100,
    name_rule=(
        "The Fargate profile name must start with a letter or digit and contain only letters, "
        "digits, hyphens and underscores."
    ),
    parse=_parse_fargate_profile,
    aws_auth_username="system:node:{{SessionName}}",
    aws_auth_groups=("system:bootstrappers", "system:nodes", "system:node-proxier"),
    one_transition_at_a_time=True,
    tracks_modified_at=False,
    unmaps_role_on_delete=False,
)


# -- the one path -----------------------------------------------------------------------------------


class ComputeResources:
    """Create, describe and delete node groups and Fargate profiles, and move them through their phases.

    Args:
        clusters: The clusters that hold them.
        lifecycle: Timings, failure rules and the tasks that apply them.
        service_token: A bearer token of the EKS service-linked role for a cluster, for ``aws-auth`` edits.
    """

    def __init__(self, clusters: Clusters, lifecycle: Lifecycle, service_token: Callable[[str], str]) -> None:
        self.clusters = clusters
        self.lifecycle = lifecycle
        self._service_token = service_token

    def get(self, cluster_name: str, kind: ComputeKind, name: str) -> Compute:
        """A resource of a cluster.

        Raises:
            EksError: no such cluster or resource (ResourceNotFoundException).
        """
        item = self.clusters.get(cluster_name).compute(kind.kind).get(name)
        if item is None:
            raise kind.not_found(cluster_name, name)
        return item

    def arn(self, cluster_name: str, kind: ComputeKind, name: str) -> str:
        """The resource's ARN, or the one it would have (IAM still judges requests for missing ones)."""
        cluster = self.clusters.find(cluster_name)
        item = cluster.compute(kind.kind).get(name) if cluster is not None else None
        if item is not None:
            return str(item.doc[kind.arn_member])
        return self.clusters.arn(kind.arn_type, cluster_name, name, str(uuid.UUID(int=0)))

    def create(self, cluster_name: str, kind: ComputeKind, body: JsonObject) -> JsonObject:
        """CreateNodegroup / CreateFargateProfile: a new resource in CREATING.

        Raises:
            EksError: the error the operation answers.
        """
        cluster = self.clusters.get(cluster_name)
        name = Members(body, clusterName=cluster_name).required_string(kind.name_member)
        fields = kind.fields(cluster_name, name)
        if len(name) > kind.max_name_length or not _COMPUTE_NAME_RE.match(name):
            raise invalid_parameter(kind.name_rule, **fields)
        request = kind.parse(Members(body, **fields), cluster_name, name)
        table = cluster.compute(kind.kind)
        existing = table.get(name)
        if existing is not None:
            token = request.client_request_token
            if token is not None and token == existing.client_request_token:
                return wire(existing.doc)
            raise kind.already_exists(cluster_name, name)
        self.clusters.require_active(cluster)
        if kind.one_transition_at_a_time:
            _require_no_transition(cluster, kind, "create", name)
        doc: JsonObject = {
            kind.name_member: name,
            kind.arn_member: self.clusters.arn(kind.arn_type, cluster_name, name, str(uuid.uuid4())),
            "clusterName": cluster_name,
            **request.document(cluster, now_epoch()),
        }
        item = Compute(kind.kind, name, doc, request.role_arn, request.client_request_token)
        table[name] = item
        self.lifecycle.spawn(
            self._finish_create(cluster, kind, item), f"create {kind.label} {cluster_name}/{name}"
        )
        return wire(doc)

    def delete(self, cluster_name: str, kind: ComputeKind, name: str) -> JsonObject:
        """DeleteNodegroup / DeleteFargateProfile: the resource goes DELETING (a second call answers the same).

        Raises:
            EksError: not found, still CREATING, or (profiles) another profile in transition.
        """
        cluster = self.clusters.get(cluster_name)
        item = self.get(cluster_name, kind, name)
        if item.status == "DELETING":
            return wire(item.doc)
        if item.status == "CREATING":
            raise kind.still_creating(cluster_name, name)
        if kind.one_transition_at_a_time:
            _require_no_transition(cluster, kind, "delete", name)
        item.doc["status"] = "DELETING"
        _touch(kind, item)
        self.lifecycle.spawn(
            self._finish_delete(cluster, kind, item), f"delete {kind.label} {cluster_name}/{name}"
        )
        return wire(item.doc)

    async def _finish_create(self, cluster: Cluster, kind: ComputeKind, item: Compute) -> None:
        await self.lifecycle.wait(kind.kind, "create")
        rule = self.lifecycle.failure(kind.kind, item.name, "create")
        if rule is not None:
            _fail(kind, item, "CREATE_FAILED", rule.issue(kind.resource_id(item.name)))
            return
        try:
            await self._edit_aws_auth(
                cluster, add=(item.role_arn, kind.aws_auth_username, kind.aws_auth_groups)
            )
        except AwsAuthError as exc:
            issue = {"code": "ClusterUnreachable", "message": str(exc), "resourceIds": [cluster.name]}
            _fail(kind, item, "CREATE_FAILED", issue)
            return
        if kind.kind == "nodegroup":
            item.doc["resources"] = {"autoScalingGroups": [{"name": f"eks-{item.name}-{uuid.uuid4()}"}]}
            if "remoteAccess" in item.doc:
                item.doc["resources"]["remoteAccessSecurityGroup"] = f"sg-{short_id()}"
        item.doc["status"] = "ACTIVE"
        _touch(kind, item)

    async def _finish_delete(self, cluster: Cluster, kind: ComputeKind, item: Compute) -> None:
        await self.lifecycle.wait(kind.kind, "delete")
        rule = self.lifecycle.failure(kind.kind, item.name, "delete")
        if rule is not None:
            _fail(kind, item, "DELETE_FAILED", rule.issue(kind.resource_id(item.name)))
            return
        role = canonicalize_arn(item.role_arn)
        still_used = any(
            canonicalize_arn(other.role_arn) == role
            for other in cluster.nodegroups.values()
            if other is not item
        )
        if kind.unmaps_role_on_delete and not still_used:
            # Before the node group disappears, so a client that saw it gone also sees aws-auth updated.
            try:
                await self._edit_aws_auth(cluster, remove=role)
            except AwsAuthError as exc:
                _log.warning("could not remove %s from aws-auth of %s: %s", role, cluster.name, exc)
        table = cluster.compute(kind.kind)
        if table.get(item.name) is item:
            del table[item.name]

    async def _edit_aws_auth(
        self, cluster: Cluster, *, add: RoleMapping | None = None, remove: str | None = None
    ) -> None:
        kube = cluster.kube
        if kube is None:
            return
        async with cluster.aws_auth_lock:
            await edit_aws_auth(
                kube.url, kube.ca_b64, self._service_token(cluster.name), add=add, remove=remove
            )


def _require_no_transition(cluster: Cluster, kind: ComputeKind, action: str, name: str) -> None:
    for other in cluster.compute(kind.kind).values():
        if other.name != name and other.status in ("CREATING", "DELETING"):
            raise in_use(
                f"Cannot {action} Fargate Profile {name} because cluster {cluster.name} currently has "
                f"Fargate Profile {other.name} in status {other.status}",
                clusterName=cluster.name,
            )


def _fail(kind: ComputeKind, item: Compute, status: str, issue: JsonObject) -> None:
    item.doc["status"] = status
    item.doc["health"] = {"issues": [issue]}
    _touch(kind, item)


def _touch(kind: ComputeKind, item: Compute) -> None:
    if kind.tracks_modified_at:
        item.doc["modifiedAt"] = now_epoch()
