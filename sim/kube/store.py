"""Object storage with resourceVersions, indexes, a bounded event history and watch fan-out.

This is the simulator's etcd. Every write takes the next cluster-wide
resourceVersion, serializes the object once (the bytes are reused by GET, list
and every watcher), updates two indexes (label ``key=value`` → objects, owner uid
→ dependents), appends to a bounded history for watches that resume from a
resourceVersion, and hands the event to synchronous listeners (the Job
controller, the kubelet, the garbage collector). Stored objects are never mutated
in place: a write replaces the dict, so readers may keep references.

Everything here is synchronous and runs on the event loop, so no locking is
needed and a controller callback sees a consistent store.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from sim.kube.errors import bad_request, gone
from sim.kube.resources import Catalog, ResourceInfo
from sim.kube.selectors import FieldSelector, LabelSelector

Key = tuple[str, str]
ADDED: Final = "ADDED"
MODIFIED: Final = "MODIFIED"
DELETED: Final = "DELETED"
DEFAULT_HISTORY: Final = 20_000
WATCH_QUEUE_LIMIT: Final = 100_000


_last_stamp: list[Any] = [-1, ""]


def serialize(obj: Any) -> bytes:
    """JSON bytes of ``obj`` sized exactly.

    orjson returns bytes whose allocation is at least 4 KiB; stored objects live long, so the
    bytes are copied into an exact-size object (10,000 Jobs would otherwise cost 4 KiB per version).
    """
    return bytes(memoryview(orjson.dumps(obj)))


def now_rfc3339(moment: float | None = None) -> str:
    """UTC time in Kubernetes' second-precision RFC 3339 form (``2026-01-02T03:04:05Z``)."""
    second = int(time.time() if moment is None else moment)
    if second != _last_stamp[0]:
        _last_stamp[0], _last_stamp[1] = second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
    stamp: str = _last_stamp[1]
    return stamp


@dataclass(slots=True)
class Entry:
    """A stored object with its serialized form."""

    obj: dict[str, Any]
    raw: bytes
    rv: int

    @property
    def labels(self) -> dict[str, str]:
        """The object's labels (empty dict when none)."""
        labels: dict[str, str] = self.obj["metadata"].get("labels") or {}
        return labels


@dataclass(slots=True)
class Event:
    """One change of one object, as watchers and listeners see it."""

    rv: int
    table: Table
    type: str
    entry: Entry
    old: Entry | None
    frames: dict[str, bytes] = field(default_factory=dict)

    def frame(self, event_type: str | None = None) -> bytes:
        """The newline-terminated watch frame for this event (optionally as another type).

        Built once per event type and shared by every watcher.
        """
        kind = event_type or self.type
        frame = self.frames.get(kind)
        if frame is None:
            frame = self.frames[kind] = (
                b'{"type":"' + kind.encode() + b'","object":' + self.entry.raw + b"}\n"
            )
        return frame


class Watcher:
    """One watch stream: its filter and a queue of ready-to-write frames.

    Frames are shared bytes; a watcher never copies or re-serializes an object.
    """

    __slots__ = ("closed", "fields", "labels", "namespace", "queue", "render")

    def __init__(
        self,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        render: Callable[[Event, str], bytes] | None = None,
    ) -> None:
        self.namespace = namespace
        self.labels = labels
        self.fields = fields
        self.render = render
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.closed = False

    def matches(self, entry: Entry | None) -> bool:
        """Whether ``entry`` is in this watch's view."""
        if entry is None:
            return False
        metadata = entry.obj["metadata"]
        if self.namespace is not None and metadata.get("namespace", "") != self.namespace:
            return False
        if not self.labels.empty and not self.labels.matches(metadata.get("labels") or {}):
            return False
        return self.fields.empty or self.fields.matches(entry.obj)

    def offer(self, event: Event) -> None:
        """Queue the frame for ``event`` if it concerns this watch (ADDED/DELETED at the view's edge)."""
        if self.closed:
            return
        now_in = self.matches(event.entry) if event.type != DELETED else False
        was_in = self.matches(event.old) if event.type != ADDED else False
        if event.type == DELETED:
            frame = self._frame(event, event.type) if self.matches(event.entry) else None
        elif now_in and was_in:
            frame = self._frame(event, event.type)
        elif now_in:
            frame = self._frame(event, ADDED)
        elif was_in:
            frame = self._frame(event, DELETED)
        else:
            frame = None
        if frame is not None:
            self.push(frame)

    def _frame(self, event: Event, event_type: str) -> bytes:
        if self.render is not None:
            return self.render(event, event_type)
        return event.frame(event_type)

    def push(self, frame: bytes | None) -> None:
        """Queue a frame; a watcher too slow to keep up is closed, as kube-apiserver does."""
        if self.closed:
            return
        if self.queue.qsize() >= WATCH_QUEUE_LIMIT:
            self.close()
            return
        self.queue.put_nowait(frame)

    def close(self) -> None:
        """End the stream after the frames already queued."""
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)


class Table:
    """All objects of one resource, with a label index and the live watchers."""

    def __init__(self, info: ResourceInfo) -> None:
        self.info = info
        self.objects: dict[Key, Entry] = {}
        self.by_label: dict[tuple[str, str], set[Key]] = {}
        self.watchers: set[Watcher] = set()
        self._sorted: list[Key] | None = None

    def sorted_keys(self) -> list[Key]:
        """Keys in storage order (namespace, then name), cached until the key set changes."""
        if self._sorted is None:
            self._sorted = sorted(self.objects)
        return self._sorted

    def _index(self, key: Key, labels: dict[str, str]) -> None:
        for pair in labels.items():
            self.by_label.setdefault(pair, set()).add(key)

    def _unindex(self, key: Key, labels: dict[str, str]) -> None:
        for pair in labels.items():
            keys = self.by_label.get(pair)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self.by_label[pair]


Listener = Callable[[Event], None]


class Store:
    """The cluster's objects.

    Args:
        catalog: the resource catalogue (to find a table from ``apiVersion``/``kind``).
        history_size: how many events are kept for watches resuming from a resourceVersion;
            older resourceVersions get 410 Expired.
    """

    def __init__(self, catalog: Catalog, history_size: int = DEFAULT_HISTORY) -> None:
        self.catalog = catalog
        self.rv = 0
        self.tables: dict[tuple[str, str], Table] = {}
        # History keeps only serialized forms: superseded versions cost their bytes, not their dicts.
        self.history: deque[tuple[int, Table, str, bytes, bytes | None]] = deque()
        self.history_size = history_size
        self.compacted_rv = 0
        self.dependents: dict[str, set[tuple[Table, Key]]] = {}
        self.by_uid: dict[str, tuple[Table, Key]] = {}
        self._listeners: list[Listener] = []

    # -- plumbing ----------------------------------------------------------------------------

    def table(self, info: ResourceInfo) -> Table:
        """The table of ``info`` (created empty on first use)."""
        table = self.tables.get(info.key)
        if table is None:
            table = self.tables[info.key] = Table(info)
        return table

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` synchronously after every write."""
        self._listeners.append(listener)

    def _next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def _commit(self, table: Table, event_type: str, entry: Entry, old: Entry | None) -> Event:
        event = Event(entry.rv, table, event_type, entry, old)
        history = self.history
        history.append((entry.rv, table, event_type, entry.raw, old.raw if old is not None else None))
        if len(history) > self.history_size:
            self.compacted_rv = history.popleft()[0]
        for watcher in tuple(table.watchers):
            watcher.offer(event)
        for listener in self._listeners:
            listener(event)
        return event

    def _track_owners(
        self, table: Table, key: Key, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        old_list = (old or {}).get("metadata", {}).get("ownerReferences")
        new_list = (new or {}).get("metadata", {}).get("ownerReferences")
        if old_list is new_list or (old is not None and new is not None and old_list == new_list):
            return
        old_refs = {ref.get("uid") for ref in (old or {}).get("metadata", {}).get("ownerReferences") or ()}
        new_refs = {ref.get("uid") for ref in (new or {}).get("metadata", {}).get("ownerReferences") or ()}
        for uid in old_refs - new_refs:
            dependents = self.dependents.get(str(uid))
            if dependents is not None:
                dependents.discard((table, key))
                if not dependents:
                    del self.dependents[str(uid)]
        for uid in new_refs - old_refs:
            self.dependents.setdefault(str(uid), set()).add((table, key))

    # -- writes --------------------------------------------------------------------------------

    def insert(self, table: Table, obj: dict[str, Any]) -> Entry:
        """Store a new object (metadata already complete except resourceVersion)."""
        metadata = obj["metadata"]
        key = (metadata.get("namespace", ""), metadata["name"])
        rv = self._next_rv()
        metadata["resourceVersion"] = str(rv)
        entry = Entry(obj, serialize(obj), rv)
        table.objects[key] = entry
        table._sorted = None
        table._index(key, entry.labels)
        uid = metadata.get("uid")
        if uid:
            self.by_uid[uid] = (table, key)
        self._track_owners(table, key, None, obj)
        self._commit(table, ADDED, entry, None)
        return entry

    def update(self, table: Table, obj: dict[str, Any]) -> Entry:
        """Replace a stored object with ``obj`` (a new dict), bumping its resourceVersion."""
        metadata = obj["metadata"]
        key = (metadata.get("namespace", ""), metadata["name"])
        old = table.objects[key]
        rv = self._next_rv()
        metadata["resourceVersion"] = str(rv)
        entry = Entry(obj, serialize(obj), rv)
        table.objects[key] = entry
        if old.labels != entry.labels:
            table._unindex(key, old.labels)
            table._index(key, entry.labels)
        self._track_owners(table, key, old.obj, obj)
        self._commit(table, MODIFIED, entry, old)
        return entry

    def remove(self, table: Table, key: Key) -> Entry:
        """Delete a stored object; the DELETED event carries a new resourceVersion."""
        old = table.objects.pop(key)
        table._sorted = None
        table._unindex(key, old.labels)
        self.by_uid.pop(old.obj["metadata"].get("uid", ""), None)
        self._track_owners(table, key, old.obj, None)
        obj = orjson.loads(old.raw)
        rv = self._next_rv()
        obj["metadata"]["resourceVersion"] = str(rv)
        entry = Entry(obj, serialize(obj), rv)
        self._commit(table, DELETED, entry, old)
        return entry

    # -- reads ---------------------------------------------------------------------------------

    def lookup(self, table: Table, namespace: str, name: str) -> Entry | None:
        """The stored entry, or None."""
        return table.objects.get((namespace, name))

    def select(
        self,
        table: Table,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        start_after: Key | None = None,
    ) -> Iterator[Entry]:
        """Matching entries in storage order, after ``start_after`` when paging."""
        candidates: Collection[Key] | None = None
        for requirement in labels.requirements:
            pair = requirement.equality()
            if pair is not None:
                indexed = table.by_label.get(pair, set())
                if candidates is None or len(indexed) < len(candidates):
                    candidates = indexed
        name = fields.name()
        if name is not None and namespace is not None:
            candidates = [(namespace, name)]
        if candidates is None:
            keys: Iterable[Key] = table.sorted_keys()
        else:
            keys = sorted(candidates)
        objects = table.objects
        for key in keys:
            if start_after is not None and key <= start_after:
                continue
            if namespace is not None and key[0] != namespace:
                continue
            entry = objects.get(key)
            if entry is None:
                continue
            if not labels.empty and not labels.matches(entry.labels):
                continue
            if not fields.empty and not fields.matches(entry.obj):
                continue
            yield entry

    def events_since(self, table: Table, rv: int) -> list[Event]:
        """Events of ``table`` after ``rv``.

        Raises:
            KubeError: 410 Expired when ``rv`` is older than the kept history.
        """
        if rv < self.compacted_rv:
            raise gone(f"too old resource version: {rv} ({self.compacted_rv + 1})")
        events = []
        for event_rv, event_table, event_type, raw, old_raw in self.history:
            if event_rv <= rv or event_table is not table:
                continue
            old = Entry(orjson.loads(old_raw), old_raw, 0) if old_raw is not None else None
            events.append(Event(event_rv, table, event_type, Entry(orjson.loads(raw), raw, event_rv), old))
        return events

    # -- convenience for tests and controllers ------------------------------------------------------

    def info_for(self, obj: dict[str, Any]) -> ResourceInfo:
        """The resource of ``obj`` from its apiVersion and kind."""
        info = self.catalog.by_kind(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        if info is None:
            raise bad_request(f"no resource is registered for {obj.get('apiVersion')}/{obj.get('kind')}")
        return info

    def get(self, group: str, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The stored object ``group``/``resource`` ``namespace``/``name``, or None.

        Args:
            group: API group (``""`` for core).
            resource: plural resource (``jobs``).
            namespace: namespace (``""`` for cluster-scoped objects).
            name: object name.
        """
        table = self.tables.get((group, resource))
        if table is None:
            return None
        entry = table.objects.get((namespace, name))
        return entry.obj if entry is not None else None

    def objects(self, group: str, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Every stored object of a resource, optionally in one namespace, in storage order."""
        table = self.tables.get((group, resource))
        if table is None:
            return []
        return [
            table.objects[key].obj for key in table.sorted_keys() if namespace is None or key[0] == namespace
        ]

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store ``obj`` as is (create or overwrite), without validation or controllers' defaults.

        Fills uid, creationTimestamp, generation and namespace (``default`` for a namespaced
        kind) when missing. Meant for tests and for seeding state.

        Returns:
            The stored object, with its resourceVersion.
        """
        info = self.info_for(obj)
        obj = orjson.loads(orjson.dumps(obj))
        metadata = obj.setdefault("metadata", {})
        if not metadata.get("name"):
            raise bad_request("metadata.name is required")
        if info.namespaced:
            metadata.setdefault("namespace", "default")
        else:
            metadata.pop("namespace", None)
        metadata.setdefault("uid", str(uuid.uuid4()))
        metadata.setdefault("creationTimestamp", now_rfc3339())
        metadata.setdefault("generation", 1)
        table = self.table(info)
        if (metadata.get("namespace", ""), metadata["name"]) in table.objects:
            return self.update(table, obj).obj
        return self.insert(table, obj).obj


def encode_continue(rv: int, key: Key) -> str:
    """An opaque continue token: the list's resourceVersion and the last key returned."""
    return base64.urlsafe_b64encode(orjson.dumps({"rv": rv, "start": list(key)})).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, Key]:
    """Decode a continue token.

    Raises:
        KubeError: 400 when the token is malformed.
    """
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        namespace, name = data["start"]
        return int(data["rv"]), (str(namespace), str(name))
    except (ValueError, KeyError, TypeError) as exc:
        raise bad_request(f"continue key is not valid: {exc.__class__.__name__}") from None
