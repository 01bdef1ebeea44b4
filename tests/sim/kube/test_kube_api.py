"""The HTTP API: CRUD, Status errors, selectors, paging, patches, deletion, discovery."""

from __future__ import annotations

import asyncio

import orjson
from kube_support import Request, job_manifest, wait_for

from sim.kube import KubeSimulator

JOBS = "/apis/batch/v1/namespaces/default/jobs"
PODS = "/api/v1/namespaces/default/pods"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


def configmap(name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels or {}},
        "data": data,
    }


async def test_a_created_object_gets_uid_resource_version_timestamp_and_generation(api: Request) -> None:
    created = await api("POST", CONFIGMAPS, json=configmap("a", x="1"))

    assert created.status == 201
    metadata = created.json["metadata"]
    assert metadata["namespace"] == "default"
    assert len(metadata["uid"]) == 36
    assert int(metadata["resourceVersion"]) > 0
    assert metadata["creationTimestamp"].endswith("Z")
    assert metadata["generation"] == 1
    fetched = await api("GET", f"{CONFIGMAPS}/a")
    assert fetched.json == created.json


async def test_creating_twice_is_409_already_exists(api: Request) -> None:
    await api("POST", JOBS, json=job_manifest("dup"))

    again = await api("POST", JOBS, json=job_manifest("dup"))

    assert again.status == 409
    assert again.json == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'jobs.batch "dup" already exists',
        "reason": "AlreadyExists",
        "details": {"name": "dup", "group": "batch", "kind": "jobs"},
        "code": 409,
    }


async def test_getting_a_missing_job_is_404_with_the_kubernetes_message(api: Request) -> None:
    reply = await api("GET", f"{JOBS}/example-job")

    assert reply.status == 404
    assert reply.json["message"] == 'jobs.batch "example-job" not found'
    assert reply.json["details"] == {"name": "example-job", "group": "batch", "kind": "jobs"}


async def test_a_core_resource_not_found_has_no_group_in_the_message(api: Request) -> None:
    reply = await api("GET", f"{PODS}/nope")

    assert reply.status == 404
    assert reply.json["message"] == 'pods "nope" not found'


async def test_a_job_without_containers_is_422_invalid(api: Request) -> None:
    manifest = job_manifest("empty")
    manifest["spec"]["template"]["spec"]["containers"] = []  # type: ignore[index]

    reply = await api("POST", JOBS, json=manifest)

    assert reply.status == 422
    assert reply.json["reason"] == "Invalid"
    assert (
        reply.json["message"] == 'Job.batch "empty" is invalid: spec.template.spec.containers: Required value'
    )
    assert reply.json["details"]["causes"] == [
        {
            "reason": "FieldValueRequired",
            "message": "Required value",
            "field": "spec.template.spec.containers",
        }
    ]


async def test_a_job_with_restart_policy_always_is_422_invalid(api: Request) -> None:
    reply = await api("POST", JOBS, json=job_manifest("always", restart_policy="Always"))

    assert reply.status == 422
    assert reply.json["message"] == (
        'Job.batch "always" is invalid: spec.template.spec.restartPolicy: Required value: valid values: '
        '"OnFailure", "Never"'
    )


async def test_a_job_without_a_name_is_422_invalid(api: Request) -> None:
    manifest = job_manifest("x")
    del manifest["metadata"]["name"]  # type: ignore[attr-defined]

    reply = await api("POST", JOBS, json=manifest)

    assert reply.status == 422
    assert (
        reply.json["message"]
        == 'Job.batch "" is invalid: metadata.name: Required value: name or generateName is required'
    )


async def test_generate_name_appends_a_random_suffix(api: Request) -> None:
    reply = await api("POST", CONFIGMAPS, json={"metadata": {"generateName": "cfg-"}, "data": {}})

    assert reply.status == 201
    assert reply.json["metadata"]["name"].startswith("cfg-")
    assert len(reply.json["metadata"]["name"]) == len("cfg-") + 5


async def test_malformed_json_is_400_bad_request(api: Request) -> None:
    reply = await api("POST", CONFIGMAPS, data=b"{not json", headers={"Content-Type": "application/json"})

    assert reply.status == 400
    assert reply.json["reason"] == "BadRequest"


async def test_a_method_the_path_does_not_allow_is_405(api: Request) -> None:
    reply = await api("POST", f"{CONFIGMAPS}/a")

    assert reply.status == 405
    assert reply.json["reason"] == "MethodNotAllowed"


async def test_creating_in_a_missing_namespace_is_404(api: Request) -> None:
    reply = await api("POST", "/api/v1/namespaces/ghost/configmaps", json=configmap("a"))

    assert reply.status == 404
    assert reply.json["message"] == 'namespaces "ghost" not found'


async def test_replace_with_a_stale_resource_version_is_409_conflict(api: Request) -> None:
    created = (await api("POST", CONFIGMAPS, json=configmap("cm", x="1"))).json
    stale = dict(created)
    await api("PUT", f"{CONFIGMAPS}/cm", json={**created, "data": {"x": "2"}})

    reply = await api("PUT", f"{CONFIGMAPS}/cm", json={**stale, "data": {"x": "3"}})

    assert reply.status == 409
    assert reply.json["reason"] == "Conflict"
    assert reply.json["message"] == (
        'Operation cannot be fulfilled on configmaps "cm": the object has been modified; please apply your '
        "changes to the latest version and try again"
    )


async def test_replacing_the_spec_bumps_generation_but_status_updates_do_not(api: Request) -> None:
    created = (
        await api(
            "POST",
            "/apis/apps/v1/namespaces/default/deployments",
            json={"metadata": {"name": "d"}, "spec": {"replicas": 1}},
        )
    ).json
    changed = await api(
        "PUT", "/apis/apps/v1/namespaces/default/deployments/d", json={**created, "spec": {"replicas": 2}}
    )
    status = await api(
        "PUT",
        "/apis/apps/v1/namespaces/default/deployments/d/status",
        json={**changed.json, "status": {"replicas": 2}},
    )

    assert changed.json["metadata"]["generation"] == 2
    assert status.json["metadata"]["generation"] == 2
    assert status.json["status"] == {"replicas": 2}


async def test_the_main_resource_ignores_status_changes_of_a_kind_with_a_status_subresource(
    api: Request, kube: KubeSimulator
) -> None:
    await api("POST", JOBS, json=job_manifest("s", seconds=30))
    await wait_for(
        lambda: (kube.store.get("batch", "jobs", "default", "s") or {})["status"].get("ready") == 1
    )
    current = (await api("GET", f"{JOBS}/s")).json

    replaced = await api("PUT", f"{JOBS}/s", json={**current, "status": {"succeeded": 99}})

    assert replaced.status == 200, replaced.body
    assert replaced.json["status"].get("succeeded") is None


async def test_label_selectors_filter_lists_with_equality_and_set_operators(api: Request) -> None:
    await api("POST", CONFIGMAPS, json=configmap("a", {"tier": "web", "env": "prod"}))
    await api("POST", CONFIGMAPS, json=configmap("b", {"tier": "db", "env": "prod"}))
    await api("POST", CONFIGMAPS, json=configmap("c", {"tier": "web"}))

    async def names(selector: str) -> list[str]:
        reply = await api("GET", f"{CONFIGMAPS}?labelSelector={selector}")
        assert reply.status == 200, reply.body
        return [item["metadata"]["name"] for item in reply.json["items"]]

    assert await names("tier%3Dweb") == ["a", "c"]
    assert await names("tier%3Dweb,env") == ["a"]
    assert await names("tier%20in%20(db,web),!env") == ["c"]
    assert await names("env!%3Dprod") == ["c"]
    assert await names("tier%20notin%20(web)") == ["b"]


async def test_a_malformed_label_selector_is_400(api: Request) -> None:
    reply = await api("GET", f"{CONFIGMAPS}?labelSelector=a%20in%20b")

    assert reply.status == 400
    assert reply.json["message"].startswith("unable to parse requirement")


async def test_field_selectors_filter_by_name_and_reject_unsupported_fields(api: Request) -> None:
    await api("POST", CONFIGMAPS, json=configmap("a"))
    await api("POST", CONFIGMAPS, json=configmap("b"))

    by_name = await api("GET", f"{CONFIGMAPS}?fieldSelector=metadata.name%3Db")
    not_name = await api("GET", f"{CONFIGMAPS}?fieldSelector=metadata.name!%3Db")
    bad = await api("GET", f"{CONFIGMAPS}?fieldSelector=spec.color%3Dred")

    assert [i["metadata"]["name"] for i in by_name.json["items"]] == ["b"]
    assert "b" not in [i["metadata"]["name"] for i in not_name.json["items"]]
    assert bad.status == 400
    assert bad.json["message"] == "field label not supported: spec.color"


async def test_limit_and_continue_page_through_a_list(api: Request) -> None:
    for index in range(7):
        await api("POST", CONFIGMAPS, json=configmap(f"cm-{index}"))
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        path = f"{CONFIGMAPS}?limit=3" + (f"&continue={token}" if token else "")
        reply = (await api("GET", path)).json
        pages += 1
        seen.extend(item["metadata"]["name"] for item in reply["items"])
        token = reply["metadata"].get("continue", "")
        if not token:
            break

    assert pages == 3
    assert seen == [f"cm-{index}" for index in range(7)]


async def test_merge_json_and_strategic_merge_patches(api: Request) -> None:
    await api("POST", CONFIGMAPS, json=configmap("p", a="1", b="2"))

    merged = await api(
        "PATCH",
        f"{CONFIGMAPS}/p",
        data=b'{"data":{"a":null,"c":"3"}}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    jsonp = await api(
        "PATCH",
        f"{CONFIGMAPS}/p",
        data=b'[{"op":"replace","path":"/data/b","value":"20"}]',
        headers={"Content-Type": "application/json-patch+json"},
    )
    failing = await api(
        "PATCH",
        f"{CONFIGMAPS}/p",
        data=b'[{"op":"test","path":"/data/b","value":"nope"}]',
        headers={"Content-Type": "application/json-patch+json"},
    )
    unsupported = await api("PATCH", f"{CONFIGMAPS}/p", data=b"{}", headers={"Content-Type": "text/plain"})

    assert merged.json["data"] == {"b": "2", "c": "3"}
    assert jsonp.json["data"] == {"b": "20", "c": "3"}
    assert failing.status == 422
    assert unsupported.status == 415


async def test_strategic_merge_patch_merges_containers_by_name(api: Request) -> None:
    pod = {
        "metadata": {"name": "web", "annotations": {"sim.statewright.io/seconds": "60"}},
        "spec": {"containers": [{"name": "a", "image": "nginx:1"}, {"name": "b", "image": "redis:7"}]},
    }
    await api("POST", PODS, json=pod)

    patched = await api(
        "PATCH",
        f"{PODS}/web",
        data=b'{"spec":{"containers":[{"name":"b","image":"redis:8"}]}}',
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )

    assert patched.status == 200, patched.body
    images = {c["name"]: c["image"] for c in patched.json["spec"]["containers"]}
    assert images == {"a": "nginx:1", "b": "redis:8"}


async def test_server_side_apply_creates_then_updates(api: Request) -> None:
    body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  k: v\n"
    headers = {"Content-Type": "application/apply-patch+yaml"}

    created = await api("PATCH", f"{CONFIGMAPS}/applied?fieldManager=test", data=body, headers=headers)
    updated = await api(
        "PATCH",
        f"{CONFIGMAPS}/applied?fieldManager=test",
        data=body.replace(b"k: v", b"k: w"),
        headers=headers,
    )
    no_manager = await api("PATCH", f"{CONFIGMAPS}/applied", data=body, headers=headers)

    assert created.status == 201
    assert updated.status == 200
    assert updated.json["data"] == {"k": "w"}
    assert no_manager.status == 400


async def test_deleting_a_job_without_policy_orphans_its_pods(api: Request, kube: KubeSimulator) -> None:
    await api("POST", JOBS, json=job_manifest("orphaner", seconds=30))
    await wait_for(lambda: kube.store.objects("", "pods", "default"))

    reply = await api("DELETE", f"{JOBS}/orphaner")

    assert reply.status == 200
    await asyncio.sleep(0.05)
    pods = kube.store.objects("", "pods", "default")
    assert len(pods) == 1
    assert "ownerReferences" not in pods[0]["metadata"]


async def test_deleting_a_job_in_the_background_deletes_its_pods(api: Request, kube: KubeSimulator) -> None:
    await api("POST", JOBS, json=job_manifest("bg", seconds=30))
    await wait_for(lambda: kube.store.objects("", "pods", "default"))

    reply = await api("DELETE", f"{JOBS}/bg?propagationPolicy=Background")

    assert reply.status == 200
    assert reply.json["status"] == "Success"
    assert reply.json["details"]["name"] == "bg"
    await wait_for(lambda: not kube.store.objects("", "pods", "default"))


async def test_foreground_deletion_keeps_the_job_until_its_pods_are_gone(
    api: Request, kube: KubeSimulator
) -> None:
    await api("POST", JOBS, json=job_manifest("fg", seconds=30))
    await wait_for(lambda: any(p["status"]["phase"] == "Running" for p in kube.store.objects("", "pods")))

    reply = await api(
        "DELETE",
        f"{JOBS}/fg",
        json={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"},
    )

    assert reply.status == 200
    assert reply.json["metadata"]["deletionTimestamp"]
    assert reply.json["metadata"]["finalizers"] == ["foregroundDeletion"]
    await wait_for(lambda: kube.store.get("batch", "jobs", "default", "fg") is None)
    assert kube.store.objects("", "pods", "default") == []


async def test_an_object_with_a_finalizer_stays_until_the_finalizer_is_removed(api: Request) -> None:
    await api("POST", CONFIGMAPS, json={"metadata": {"name": "f", "finalizers": ["example.com/hold"]}})

    deleting = await api("DELETE", f"{CONFIGMAPS}/f")
    still = await api("GET", f"{CONFIGMAPS}/f")
    released = await api(
        "PATCH",
        f"{CONFIGMAPS}/f",
        data=b'{"metadata":{"finalizers":null}}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    gone = await api("GET", f"{CONFIGMAPS}/f")

    assert deleting.json["metadata"]["deletionTimestamp"]
    assert still.status == 200
    assert released.status == 200
    assert gone.status == 404


async def test_any_other_group_version_resource_is_stored_as_json(api: Request) -> None:
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 3},
    }

    created = await api("POST", "/apis/example.com/v1/namespaces/default/widgets", json=widget)
    fetched = await api("GET", "/apis/example.com/v1/namespaces/default/widgets/w")
    listed = await api("GET", "/apis/example.com/v1/widgets")

    assert created.status == 201
    assert fetched.json["spec"] == {"size": 3}
    assert [item["metadata"]["name"] for item in listed.json["items"]] == ["w"]
    assert listed.json["kind"] == "WidgetList"


async def test_the_initial_namespaces_exist_and_a_deleted_namespace_takes_its_objects(
    api: Request, kube: KubeSimulator
) -> None:
    names = [i["metadata"]["name"] for i in (await api("GET", "/api/v1/namespaces")).json["items"]]
    await api("POST", "/api/v1/namespaces", json={"metadata": {"name": "team"}})
    await api("POST", "/api/v1/namespaces/team/configmaps", json=configmap("x"))

    deleted = await api("DELETE", "/api/v1/namespaces/team")

    assert {"default", "kube-system", "kube-public"} <= set(names)
    assert deleted.json["status"]["phase"] == "Terminating"
    await wait_for(lambda: kube.store.get("", "namespaces", "", "team") is None)
    assert kube.store.objects("", "configmaps", "team") == []


async def test_discovery_lists_groups_resources_and_versions(api: Request) -> None:
    version = (await api("GET", "/version", token=None)).json
    core = (await api("GET", "/api")).json
    groups = (await api("GET", "/apis")).json
    batch = (await api("GET", "/apis/batch/v1")).json
    v1 = (await api("GET", "/api/v1")).json

    assert version["major"] == "1" and version["gitVersion"].startswith("v1.32")
    assert core["versions"] == ["v1"]
    assert "batch" in [g["name"] for g in groups["groups"]]
    jobs = next(r for r in batch["resources"] if r["name"] == "jobs")
    assert jobs["kind"] == "Job" and jobs["namespaced"] is True and "watch" in jobs["verbs"]
    pods = next(r for r in v1["resources"] if r["name"] == "pods")
    assert pods["shortNames"] == ["po"]
    assert any(r["name"] == "pods/log" for r in v1["resources"])


async def test_openapi_v2_is_406_for_protobuf_only_clients_and_json_otherwise(api: Request) -> None:
    protobuf = await api(
        "GET", "/openapi/v2", headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"}
    )
    json_doc = await api("GET", "/openapi/v2", headers={"Accept": "application/json"})
    v3 = await api("GET", "/openapi/v3")
    batch = await api("GET", v3.json["paths"]["apis/batch/v1"]["serverRelativeURL"])

    assert protobuf.status == 406
    assert json_doc.json["swagger"] == "2.0"
    patch = batch.json["paths"]["/apis/batch/v1/namespaces/{namespace}/jobs/{name}"]["patch"]
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]


async def test_strict_field_validation_rejects_unknown_top_level_fields(api: Request) -> None:
    body = {**configmap("strict"), "colour": "red"}

    strict = await api("POST", f"{CONFIGMAPS}?fieldValidation=Strict", json=body)
    ignored = await api("POST", f"{CONFIGMAPS}?fieldValidation=Ignore", json=body)

    assert strict.status == 400
    assert 'unknown field "colour"' in strict.json["message"]
    assert ignored.status == 201


async def test_dry_run_validates_without_storing(api: Request) -> None:
    reply = await api("POST", f"{CONFIGMAPS}?dryRun=All", json=configmap("dry"))

    assert reply.status == 201
    assert (await api("GET", f"{CONFIGMAPS}/dry")).status == 404


async def test_every_answer_is_json_with_a_content_type(api: Request) -> None:
    reply = await api("GET", CONFIGMAPS)

    assert reply.headers["Content-Type"] == "application/json"
    assert orjson.loads(reply.body)["kind"] == "ConfigMapList"


async def test_a_stored_custom_resource_definition_appears_in_discovery(api: Request) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.org"},
        "spec": {
            "group": "example.org",
            "scope": "Cluster",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "shortNames": ["gd"]},
            "versions": [{"name": "v1", "served": True, "storage": True}],
        },
    }

    created = await api("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd)
    resources = await api("GET", "/apis/example.org/v1")
    gadget = await api(
        "POST",
        "/apis/example.org/v1/gadgets",
        json={"apiVersion": "example.org/v1", "kind": "Gadget", "metadata": {"name": "g"}},
    )

    assert created.status == 201
    assert resources.json["resources"][0]["kind"] == "Gadget"
    assert resources.json["resources"][0]["namespaced"] is False
    assert resources.json["resources"][0]["shortNames"] == ["gd"]
    assert gadget.status == 201
    assert "namespace" not in gadget.json["metadata"]


async def test_the_default_namespace_may_not_be_deleted(api: Request) -> None:
    reply = await api("DELETE", "/api/v1/namespaces/default")

    assert reply.status == 403
    assert reply.json["message"] == 'namespaces "default" is forbidden: this namespace may not be deleted'


async def test_secret_string_data_is_stored_as_base64_data(api: Request) -> None:
    created = await api(
        "POST",
        "/api/v1/namespaces/default/secrets",
        json={"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}},
    )
    bad = await api(
        "POST",
        "/api/v1/namespaces/default/secrets",
        json={"metadata": {"name": "t"}, "data": {"k": "not base64!"}},
    )

    assert created.json["data"] == {"password": "aHVudGVyMg=="}
    assert created.json["type"] == "Opaque"
    assert "stringData" not in created.json
    assert bad.status == 422


async def test_a_service_gets_a_cluster_ip(api: Request) -> None:
    first = await api(
        "POST",
        "/api/v1/namespaces/default/services",
        json={"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}},
    )
    second = await api(
        "POST",
        "/api/v1/namespaces/default/services",
        json={"metadata": {"name": "db"}, "spec": {"ports": [{"port": 5432}]}},
    )

    assert first.json["spec"]["type"] == "ClusterIP"
    assert first.json["spec"]["clusterIP"].startswith("10.100.")
    assert first.json["spec"]["clusterIP"] != second.json["spec"]["clusterIP"]
    assert first.json["spec"]["ports"][0] == {"port": 80, "protocol": "TCP", "targetPort": 80}


async def test_reading_an_undeclared_resource_does_not_add_it_to_discovery(api: Request) -> None:
    listed = await api("GET", "/apis/nothing.example/v1/namespaces/default/things")
    groups = await api("GET", "/apis")

    assert listed.status == 200 and listed.json["items"] == []
    assert "nothing.example" not in [g["name"] for g in groups.json["groups"]]
