"""Watches: one :class:`~sim.kube.store.Watcher` per stream, frames written as the store hands them.

An event is serialized once however many clients watch (Table watchers share
one rendering too). A watch starts from now, from a resourceVersion the kept
history still holds (older: an ERROR event with 410 Expired; one this server
never issued: 504 "Too large resource version", as the watch cache answers a
client of an earlier server at the same address), or with the current objects
(``resourceVersion`` 0 or unset, ``sendInitialEvents``). It ends after
``timeoutSeconds`` (default 30 minutes), at the injected watch cut, or at
shutdown, and sends BOOKMARKs when allowed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Final

import orjson
from aiohttp import web

from sim.kube.api.requests import JSON_HEADERS, int_param, selectors, truthy
from sim.kube.errors import KubeError, bad_request, too_large_resource_version
from sim.kube.kubectl import tables
from sim.kube.registry import Registry
from sim.kube.resources import ResourceInfo
from sim.kube.selectors import parse_field_selector
from sim.kube.store import Watcher

DEFAULT_WATCH_SECONDS: Final = 1800.0


class Watches:
    """The open watch streams of one API server.

    Args:
        registry: API semantics over the store (its tables and history).
        watch_cut_seconds: returns the configured early watch cut (fault injection), if any.
        bookmark_seconds: interval between BOOKMARK events on watches that allow them.
    """

    def __init__(
        self,
        registry: Registry,
        watch_cut_seconds: Callable[[], float | None],
        bookmark_seconds: float = 60.0,
    ) -> None:
        self.registry = registry
        self.store = registry.store
        self.watch_cut_seconds = watch_cut_seconds
        self.bookmark_seconds = bookmark_seconds
        self.watchers: set[Watcher] = set()
        self.closing = False

    def close(self) -> None:
        """End every open watch (server shutdown)."""
        self.closing = True
        for watcher in list(self.watchers):
            watcher.close()

    async def watch(
        self, request: web.Request, info: ResourceInfo, namespace: str | None, name: str = ""
    ) -> web.StreamResponse:
        """Answer a watch (``watch=true`` on a collection, or the legacy ``/watch/`` paths)."""
        labels, fields = selectors(request, info)
        if name:
            fields = parse_field_selector(f"metadata.name={name}")
        query = request.query
        timeout = int_param(query, "timeoutSeconds")
        duration = float(timeout) if timeout is not None and timeout > 0 else DEFAULT_WATCH_SECONDS
        cut = self.watch_cut_seconds()
        if cut is not None:
            duration = min(duration, cut)
        bookmarks = truthy(query.get("allowWatchBookmarks"))
        rv_text = query.get("resourceVersion", "")
        table = self.registry.table(info)
        render = tables.watch_frame if tables.wants_table(request.headers.get("Accept", "")) else None
        watcher = Watcher(namespace, labels, fields, render)
        initial: list[bytes] = []
        error: KubeError | None = None
        send_initial = truthy(query.get("sendInitialEvents"))
        if rv_text in ("", "0") or send_initial:
            for e in self.store.select(table, namespace, labels, fields):
                if render is None:
                    initial.append(b'{"type":"ADDED","object":' + e.raw + b"}\n")
                else:
                    initial.append(tables.watch_event(info, "ADDED", e.obj))
            if send_initial and bookmarks:
                initial.append(self._bookmark(info, initial_events_end=True))
        else:
            try:
                since = int(rv_text)
            except ValueError:
                raise bad_request(f"invalid resourceVersion {rv_text!r}") from None
            if since > self.store.rv:
                # Never issued here (a client of an earlier server at this address): as the watch cache does.
                raise too_large_resource_version(since, self.store.rv)
            try:
                for event in self.store.events_since(table, since):
                    watcher.offer(event)
            except KubeError as exc:
                error = exc
        response = web.StreamResponse(status=200, headers=JSON_HEADERS)
        response.enable_chunked_encoding()
        if error is not None:
            await response.prepare(request)
            await response.write(b'{"type":"ERROR","object":' + error.body() + b"}\n")
            await response.write_eof()
            return response
        table.watchers.add(watcher)
        self.watchers.add(watcher)
        try:
            await response.prepare(request)
            if initial:
                await response.write(b"".join(initial))
            await self._pump(response, watcher, info, duration, bookmarks)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            watcher.closed = True
            table.watchers.discard(watcher)
            self.watchers.discard(watcher)
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await response.write_eof()
        return response

    async def _pump(
        self,
        response: web.StreamResponse,
        watcher: Watcher,
        info: ResourceInfo,
        duration: float,
        bookmarks: bool,
    ) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + duration
        next_bookmark = loop.time() + self.bookmark_seconds
        queue = watcher.queue
        while not self.closing:
            now = loop.time()
            if now >= end:
                return
            wait = end - now
            if bookmarks:
                wait = min(wait, max(0.0, next_bookmark - now))
            try:
                frame = await asyncio.wait_for(queue.get(), timeout=wait)
            except TimeoutError:
                if bookmarks and loop.time() >= next_bookmark:
                    next_bookmark = loop.time() + self.bookmark_seconds
                    if queue.empty():
                        await response.write(self._bookmark(info))
                continue
            if frame is None:
                return
            chunk = [frame]
            while not queue.empty():
                more = queue.get_nowait()
                if more is None:
                    await response.write(b"".join(chunk))
                    return
                chunk.append(more)
            await response.write(b"".join(chunk))

    def _bookmark(self, info: ResourceInfo, *, initial_events_end: bool = False) -> bytes:
        metadata: dict[str, Any] = {"resourceVersion": str(self.store.rv)}
        if initial_events_end:
            metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": info.kind, "apiVersion": info.api_version, "metadata": metadata}
        return b'{"type":"BOOKMARK","object":' + orjson.dumps(obj) + b"}\n"
