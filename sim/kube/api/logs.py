"""``GET /api/v1/namespaces/{ns}/pods/{name}/log``: the options of PodLogOptions, and ``follow``.

The query is checked as kube-apiserver checks PodLogOptions (``limitBytes`` and
``sinceSeconds`` must be positive, ``sinceTime`` RFC 3339); the kubelet reads
the log. With ``follow=true`` the answer stays open and sends new lines as the
container writes them, until it stops, ``limitBytes`` is reached, the pod is
replaced, or the server shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from sim.aws.times import rfc3339_epoch
from sim.kube.api.requests import TEXT_HEADERS, int_param, truthy
from sim.kube.errors import KubeError, bad_request
from sim.kube.kubelet import Kubelet, LogOptions
from sim.kube.registry import Registry
from sim.kube.resources import ResourceInfo


def _positive(name: str, field: str, value: int | None) -> None:
    if value is not None and value <= 0:
        raise KubeError(
            "Invalid",
            f'PodLogOptions "{name}" is invalid: {field}: Invalid value: {value}: must be greater than 0',
        )


def log_options(query: MultiMapping[str], name: str) -> LogOptions:
    """The PodLogOptions of a log request (422 Invalid or 400 for bad values)."""
    tail = int_param(query, "tailLines")
    limit = int_param(query, "limitBytes")
    since = int_param(query, "sinceSeconds")
    _positive(name, "limitBytes", limit)
    _positive(name, "sinceSeconds", since)
    since_time = None
    if query.get("sinceTime"):
        try:
            since_time = rfc3339_epoch(query["sinceTime"])
        except ValueError:
            raise bad_request(f"invalid sinceTime {query['sinceTime']!r}") from None
    return LogOptions(
        previous=truthy(query.get("previous")),
        tail_lines=tail,
        limit_bytes=limit,
        since_seconds=since,
        since_time=since_time,
        timestamps=truthy(query.get("timestamps")),
    )


class PodLogs:
    """The pod log route.

    Args:
        registry: where pods are read.
        kubelet: the node that holds the logs.
        closing: whether the server is shutting down (followed logs end then).
    """

    def __init__(self, registry: Registry, kubelet: Kubelet, closing: Callable[[], bool]) -> None:
        self.registry = registry
        self.kubelet = kubelet
        self.closing = closing

    async def answer(
        self, request: web.Request, info: ResourceInfo, namespace: str, name: str
    ) -> web.StreamResponse:
        """Answer one log request."""
        entry = self.registry.get(info, namespace, name)
        query = request.query
        options = log_options(query, name)
        container = query.get("container") or None
        data = self.kubelet.read_log(entry.obj, container, options)
        if not truthy(query.get("follow")) or options.previous:
            return web.Response(body=data, headers=TEXT_HEADERS)
        return await self._follow(request, entry.obj, container, data, options)

    async def _follow(
        self,
        request: web.Request,
        pod: dict[str, Any],
        container: str | None,
        data: bytes,
        options: LogOptions,
    ) -> web.StreamResponse:
        names = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
        chosen = container or (names[0] if names else "")
        record = self.kubelet.log_follower(pod, chosen)
        response = web.StreamResponse(headers=TEXT_HEADERS)
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(data)
        if record is None:
            return response
        sent = len(record.log)
        sent_bytes = len(data)
        limit = options.limit_bytes
        try:
            while not self.closing():
                if len(record.log) > sent:
                    lines = record.log[sent:]
                    sent = len(record.log)
                    chunk = b"".join(
                        (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(m)).encode() + b".000000000Z " + t)
                        if options.timestamps
                        else t
                        for m, t in lines
                    )
                    if limit is not None:
                        chunk = chunk[: max(0, limit - sent_bytes)]
                    sent_bytes += len(chunk)
                    if chunk:
                        await response.write(chunk)
                if record.terminated or (limit is not None and sent_bytes >= limit):
                    break
                if self.kubelet.log_follower(pod, chosen) is not record:
                    break
                await asyncio.sleep(0.1)
        except ConnectionResetError:
            pass
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await response.write_eof()
        return response
