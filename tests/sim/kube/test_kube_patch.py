"""Merge patch, JSON patch and strategic merge patch on plain JSON values."""

from __future__ import annotations

import pytest

from sim.kube.patch import PatchError, json_patch, merge_patch, strategic_merge_patch


def test_merge_patch_follows_rfc_7386() -> None:
    assert merge_patch({"a": "b", "c": {"d": "e", "f": "g"}}, {"a": "z", "c": {"f": None}}) == {
        "a": "z",
        "c": {"d": "e"},
    }
    assert merge_patch({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}


def test_json_patch_operations() -> None:
    document = {"a": {"b": [1, 2]}, "c": 1}
    patch = [
        {"op": "add", "path": "/a/b/-", "value": 3},
        {"op": "add", "path": "/a/b/0", "value": 0},
        {"op": "remove", "path": "/c"},
        {"op": "copy", "from": "/a/b", "path": "/copy"},
        {"op": "move", "from": "/copy", "path": "/moved"},
        {"op": "replace", "path": "/a/b/1", "value": 10},
        {"op": "test", "path": "/moved/3", "value": 3},
        {"op": "add", "path": "/x~1y", "value": True},
    ]

    assert json_patch(document, patch) == {"a": {"b": [0, 10, 2, 3]}, "moved": [0, 1, 2, 3], "x/y": True}
    assert document == {"a": {"b": [1, 2]}, "c": 1}


@pytest.mark.parametrize(
    "patch",
    [
        [{"op": "remove", "path": "/missing"}],
        [{"op": "test", "path": "/a", "value": 2}],
        [{"op": "replace", "path": "/nope", "value": 1}],
        [{"op": "jump", "path": "/a"}],
        {"op": "add"},
    ],
)
def test_json_patch_errors(patch: object) -> None:
    with pytest.raises(PatchError):
        json_patch({"a": 1}, patch)


def test_strategic_merge_patch_merges_lists_by_merge_key_and_replaces_others() -> None:
    original = {
        "spec": {
            "containers": [
                {"name": "a", "image": "1", "env": [{"name": "X", "value": "1"}]},
                {"name": "b", "image": "1"},
            ],
            "args": ["x"],
        }
    }
    patch = {
        "spec": {
            "containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}]}, {"name": "c", "image": "3"}],
            "args": ["y"],
        }
    }

    result = strategic_merge_patch(original, patch)

    assert result["spec"]["containers"] == [
        {"name": "a", "image": "1", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]},
        {"name": "b", "image": "1"},
        {"name": "c", "image": "3"},
    ]
    assert result["spec"]["args"] == ["y"]


def test_strategic_merge_patch_directives() -> None:
    original = {
        "metadata": {"finalizers": ["a"], "labels": {"x": "1", "y": "2"}},
        "spec": {"containers": [{"name": "a"}, {"name": "b"}], "volumes": [{"name": "v"}]},
    }
    patch = {
        "metadata": {"finalizers": ["b"], "labels": {"$patch": "replace", "z": "3"}},
        "spec": {
            "containers": [{"name": "a", "$patch": "delete"}],
            "$setElementOrder/volumes": [{"name": "w"}, {"name": "v"}],
            "volumes": [{"name": "w"}],
        },
        "$deleteFromPrimitiveList/other": ["q"],
    }

    result = strategic_merge_patch(original, patch)

    assert result["metadata"] == {"finalizers": ["a", "b"], "labels": {"z": "3"}}
    assert result["spec"]["containers"] == [{"name": "b"}]
    assert result["spec"]["volumes"] == [{"name": "w"}, {"name": "v"}]


def test_strategic_merge_patch_retain_keys_and_null_deletes() -> None:
    original = {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}, "keep": 1}

    result = strategic_merge_patch(
        original, {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}, "keep": None}
    )

    assert result == {"strategy": {"type": "Recreate"}}
