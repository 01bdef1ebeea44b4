"""The simulated node: runs every pod, keeps container logs, stops pods on deletion.

Pods move Pending → Running → Succeeded/Failed the way a kubelet reports them
(conditions, ``containerStatuses`` with waiting/running/terminated states,
restart counts and ``lastState`` for ``OnFailure``/``Always``). How a container
behaves comes from the runtime:

* ``model`` (default, cheap enough for 10,000 Jobs): the pod's annotations decide —
  ``sim.statewright.io/seconds`` (run time, default 1), ``sim.statewright.io/exit-code``
  (default 0) and ``sim.statewright.io/log`` (the lines it writes, newline-terminated like
  ``echo``; default nothing). A ``restartPolicy: Always`` pod without a run time models a
  server and runs until deleted. A
  ``.<container>`` suffix on a key targets one container. Each transition is one
  ``loop.call_later`` timer; there is no polling loop.
* ``process`` (opt-in): each container's ``command`` + ``args`` run as a local
  subprocess (the image is ignored, ``env`` is passed, stdout and stderr become the
  log, the exit code is the container's). This executes commands that API clients
  send, so it is off unless asked for and the server only listens on loopback;
  containers start through a launcher and cannot read the server's environment
  (``isolation``).

Graceful deletion: when a running pod is deleted the registry asks the kubelet
(``accepts_graceful_deletion``), the pod gets a ``deletionTimestamp``, the kubelet
stops its containers (SIGTERM, then SIGKILL after the grace period) and then
removes the pod.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import itertools
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from sim.kube.errors import bad_request
from sim.kube.isolation import launch_argv, scrub_initial_environment
from sim.kube.registry import Registry, with_changes
from sim.kube.store import ADDED, DELETED, Entry, Event, now_rfc3339

Runtime = Literal["model", "process"]
ANNOTATION_SECONDS: Final = "sim.statewright.io/seconds"
ANNOTATION_EXIT_CODE: Final = "sim.statewright.io/exit-code"
ANNOTATION_LOG: Final = "sim.statewright.io/log"
NODE_NAME: Final = "sim-node-1"
HOST_IP: Final = "10.0.0.10"
DEFAULT_STARTUP_SECONDS: Final = 0.05
MODEL_STOP_SECONDS: Final = 0.02
SIGTERM_EXIT: Final = 143
RESTART_BACKOFF_CAP: Final = 300.0


def node_object() -> dict[str, Any]:
    """The Node the kubelet runs every pod on (Ready, labelled like an EKS worker)."""
    now = now_rfc3339()
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": NODE_NAME,
            "labels": {
                "kubernetes.io/hostname": NODE_NAME,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node.kubernetes.io/instance-type": "m5.large",
                "eks.amazonaws.com/nodegroup": "sim",
            },
        },
        "spec": {"providerID": "aws:///us-east-1a/i-0000000000000000"},
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                }
            ],
            "addresses": [
                {"type": "InternalIP", "address": HOST_IP},
                {"type": "Hostname", "address": NODE_NAME},
            ],
            "capacity": {"cpu": "2", "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": "1930m", "memory": "7Gi", "pods": "110"},
            "nodeInfo": {
                "kubeletVersion": "v1.32.0-eks-statewright",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "containerRuntimeVersion": "sim://1.0",
            },
        },
    }


def rfc3339_nano(moment: float) -> str:
    """``2026-01-02T03:04:05.123456789Z`` — the timestamp format of ``timestamps=true`` logs."""
    whole = int(moment)
    nanos = round((moment - whole) * 1e9)
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{nanos:09d}Z"


@dataclass
class ContainerRun:
    """One container of a running pod: state, log and restarts."""

    name: str
    image: str
    state: dict[str, Any] = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: dict[str, Any] = field(default_factory=dict)
    log: list[tuple[float, bytes]] = field(default_factory=list)
    previous_log: list[tuple[float, bytes]] | None = None
    restart_count: int = 0
    exit_code: int | None = None
    process: asyncio.subprocess.Process | None = None
    container_id: str = ""

    @property
    def running(self) -> bool:
        """Whether the container is running now."""
        return "running" in self.state

    @property
    def terminated(self) -> bool:
        """Whether the container has stopped and will not restart."""
        return "terminated" in self.state

    def write(self, text: bytes, moment: float) -> None:
        """Append output (split into lines, each with its time)."""
        for line in text.splitlines(keepends=True):
            self.log.append((moment, line))


@dataclass
class PodRun:
    """The kubelet's record of one pod."""

    namespace: str
    name: str
    uid: str
    restart_policy: str
    annotations: dict[str, str]
    spec: dict[str, Any]
    containers: dict[str, ContainerRun]
    timers: list[asyncio.TimerHandle] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    started_at: str = ""
    pod_ip: str = ""
    stopping: bool = False


class Kubelet:
    """Runs the pods of the simulated cluster.

    Args:
        registry: the API registry (to write pod status and finish deletions).
        runtime: ``model`` or ``process``.
        startup_seconds: time a pod stays Pending (ContainerCreating) before its containers start.
        restart_backoff_seconds: first delay before restarting a failed container (doubles, capped).
    """

    def __init__(
        self,
        registry: Registry,
        runtime: Runtime = "model",
        startup_seconds: float = DEFAULT_STARTUP_SECONDS,
        restart_backoff_seconds: float = 10.0,
    ) -> None:
        if runtime not in ("model", "process"):
            raise ValueError(f"runtime must be 'model' or 'process', not {runtime!r}")
        self.registry = registry
        self.runtime = runtime
        self.startup_seconds = startup_seconds
        self.restart_backoff_seconds = restart_backoff_seconds
        self.pods: dict[tuple[str, str], PodRun] = {}
        self._ips = itertools.count(1)
        self._closed = False
        self._reapers: set[asyncio.Task[None]] = set()
        info = registry.catalog.lookup("", "v1", "pods")
        assert info is not None
        self.info = info
        registry.graceful_pod_hook = self.accepts_graceful_deletion
        registry.store.subscribe(self._on_event)

    # -- events ----------------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if event.table.info is not self.info or self._closed:
            return
        metadata = event.entry.obj["metadata"]
        key = (metadata.get("namespace", ""), metadata["name"])
        if event.type == ADDED:
            self._admit(event.entry)
        elif event.type == DELETED:
            run = self.pods.pop(key, None)
            if run is not None:
                self._kill(run, grace=0.0)
        elif metadata.get("deletionTimestamp"):
            run = self.pods.get(key)
            if run is not None and not run.stopping:
                grace = metadata.get("deletionGracePeriodSeconds")
                self._stop(run, float(grace) if isinstance(grace, (int, float)) else 30.0)

    def accepts_graceful_deletion(self, entry: Entry) -> bool:
        """Whether a deleted pod must terminate gracefully (it has a running container)."""
        metadata = entry.obj["metadata"]
        run = self.pods.get((metadata.get("namespace", ""), metadata["name"]))
        return run is not None and any(c.running for c in run.containers.values())

    def _admit(self, entry: Entry) -> None:
        obj = entry.obj
        metadata = obj["metadata"]
        spec = obj.get("spec") or {}
        containers = {
            str(c.get("name")): ContainerRun(str(c.get("name")), str(c.get("image", "")))
            for c in spec.get("containers") or []
            if isinstance(c, dict)
        }
        run = PodRun(
            metadata.get("namespace", ""),
            metadata["name"],
            metadata.get("uid", ""),
            str(spec.get("restartPolicy", "Always")),
            dict(metadata.get("annotations") or {}),
            spec,
            containers,
        )
        self.pods[(run.namespace, run.name)] = run
        loop = asyncio.get_running_loop()
        loop.call_soon(self._schedule, run)
        run.timers.append(loop.call_later(self.startup_seconds, self._start_pod, run))

    # -- status ------------------------------------------------------------------------------------

    def _current(self, run: PodRun) -> Entry | None:
        entry = self.registry.store.lookup(self.registry.table(self.info), run.namespace, run.name)
        if entry is None or entry.obj["metadata"].get("uid") != run.uid:
            return None
        return entry

    def _schedule(self, run: PodRun) -> None:
        entry = self._current(run)
        if entry is None or run.stopping:
            return
        spec = {**(entry.obj.get("spec") or {}), "nodeName": NODE_NAME}
        status = self._status(run, entry.obj.get("status") or {})
        self.registry.write_status(self.info, with_changes(entry, spec=spec, status=status))

    def _write_status(self, run: PodRun) -> None:
        entry = self._current(run)
        if entry is None:
            return
        status = self._status(run, entry.obj.get("status") or {})
        if status != entry.obj.get("status"):
            self.registry.write_status(self.info, with_changes(entry, status=status))

    def _status(self, run: PodRun, old: dict[str, Any]) -> dict[str, Any]:
        now = now_rfc3339()
        containers = list(run.containers.values())
        finished = bool(containers) and all(c.terminated for c in containers)
        if finished:
            phase = "Succeeded" if all(c.exit_code == 0 for c in containers) else "Failed"
        elif run.started_at and any(c.running or c.restart_count or c.last_state for c in containers):
            phase = "Running"
        else:
            phase = "Pending"
        ready = phase == "Running" and all(c.running for c in containers)
        old_conditions = {c.get("type"): c for c in old.get("conditions") or []}

        def condition(kind: str, status: bool, reason: str | None = None) -> dict[str, Any]:
            value = "True" if status else "False"
            previous = old_conditions.get(kind)
            moment = previous["lastTransitionTime"] if previous and previous.get("status") == value else now
            result: dict[str, Any] = {
                "type": kind,
                "status": value,
                "lastProbeTime": None,
                "lastTransitionTime": moment,
            }
            if reason:
                result["reason"] = reason
            return result

        not_ready = "PodCompleted" if finished else "ContainersNotReady"
        status: dict[str, Any] = {
            "phase": phase,
            "conditions": [
                condition("PodReadyToStartContainers", bool(run.started_at) and not finished),
                condition("Initialized", True),
                condition("Ready", ready, None if ready else not_ready),
                condition("ContainersReady", ready, None if ready else not_ready),
                condition("PodScheduled", True),
            ],
            "hostIP": HOST_IP,
            "hostIPs": [{"ip": HOST_IP}],
        }
        if run.pod_ip:
            status["podIP"] = run.pod_ip
            status["podIPs"] = [{"ip": run.pod_ip}]
        status["startTime"] = old.get("startTime") or now
        status["containerStatuses"] = [
            {
                "containerID": c.container_id,
                "image": c.image,
                "imageID": f"sim://{c.image}",
                "lastState": c.last_state,
                "name": c.name,
                "ready": c.running and ready,
                "restartCount": c.restart_count,
                "started": c.running,
                "state": c.state,
            }
            if c.container_id
            else {
                "image": c.image,
                "imageID": "",
                "lastState": c.last_state,
                "name": c.name,
                "ready": False,
                "restartCount": c.restart_count,
                "started": False,
                "state": c.state,
            }
            for c in containers
        ]
        status["qosClass"] = old.get("qosClass", "BestEffort")
        return status

    # -- running -----------------------------------------------------------------------------------

    def _setting(self, run: PodRun, key: str, container: str, default: str) -> str:
        return run.annotations.get(f"{key}.{container}", run.annotations.get(key, default))

    def _start_pod(self, run: PodRun) -> None:
        if run.stopping or self._current(run) is None:
            return
        index = next(self._ips)
        run.pod_ip = f"10.1.{index // 250 % 250}.{index % 250 + 2}"
        run.started_at = now_rfc3339()
        for container in run.containers.values():
            self._start_container(run, container)
        self._write_status(run)

    def _start_container(self, run: PodRun, container: ContainerRun) -> None:
        moment = time.time()
        seed = f"{run.uid}/{container.name}/{container.restart_count}".encode()
        container.container_id = "containerd://" + hashlib.sha256(seed).hexdigest()
        container.state = {"running": {"startedAt": now_rfc3339(moment)}}
        container.exit_code = None
        if self.runtime == "model":
            # A restartPolicy Always pod with no run time given models a server: it runs until deleted.
            default_seconds = "inf" if run.restart_policy == "Always" else "1"
            try:
                seconds = float(self._setting(run, ANNOTATION_SECONDS, container.name, default_seconds))
                exit_code = int(self._setting(run, ANNOTATION_EXIT_CODE, container.name, "0"))
            except ValueError:
                seconds, exit_code = 0.0, 128
                container.write(b"sim: the seconds or exit-code annotation is not a number\n", moment)
            text = self._setting(run, ANNOTATION_LOG, container.name, "")
            if text:
                # The model writes lines, as ``echo`` would: the last one ends with a newline too.
                container.write(text.encode() if text.endswith("\n") else text.encode() + b"\n", moment)
            if seconds != float("inf"):
                loop = asyncio.get_running_loop()
                run.timers.append(
                    loop.call_later(max(0.0, seconds), self._container_exited, run, container, exit_code)
                )
        else:
            task = asyncio.get_running_loop().create_task(self._run_process(run, container))
            run.tasks.add(task)
            task.add_done_callback(run.tasks.discard)

    def _container_spec(self, run: PodRun, name: str) -> dict[str, Any]:
        for spec in run.spec.get("containers") or []:
            if isinstance(spec, dict) and spec.get("name") == name:
                return spec
        return {}

    def _environment(self, run: PodRun, spec: dict[str, Any]) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOSTNAME": run.name,
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        }
        store = self.registry.store
        for source in spec.get("envFrom") or []:
            if not isinstance(source, dict):
                continue
            for kind, resource in (("configMapRef", "configmaps"), ("secretRef", "secrets")):
                ref = source.get(kind)
                if isinstance(ref, dict):
                    obj = store.get("", resource, run.namespace, str(ref.get("name"))) or {}
                    for k, v in (obj.get("data") or {}).items():
                        env[str(source.get("prefix", "")) + k] = _decode(v, resource)
        for variable in spec.get("env") or []:
            if not isinstance(variable, dict) or not variable.get("name"):
                continue
            value = variable.get("value")
            ref = variable.get("valueFrom") or {}
            if value is None and isinstance(ref, dict):
                value = self._value_from(run, ref)
            env[str(variable["name"])] = "" if value is None else str(value)
        return env

    def _value_from(self, run: PodRun, ref: dict[str, Any]) -> str | None:
        store = self.registry.store
        for kind, resource in (("configMapKeyRef", "configmaps"), ("secretKeyRef", "secrets")):
            selector = ref.get(kind)
            if isinstance(selector, dict):
                obj = store.get("", resource, run.namespace, str(selector.get("name"))) or {}
                raw = (obj.get("data") or {}).get(str(selector.get("key")))
                return None if raw is None else _decode(raw, resource)
        field_ref = ref.get("fieldRef")
        if isinstance(field_ref, dict):
            return {
                "metadata.name": run.name,
                "metadata.namespace": run.namespace,
                "metadata.uid": run.uid,
                "spec.nodeName": NODE_NAME,
                "status.podIP": run.pod_ip,
                "status.hostIP": HOST_IP,
            }.get(str(field_ref.get("fieldPath")))
        return None

    async def _run_process(self, run: PodRun, container: ContainerRun) -> None:
        spec = self._container_spec(run, container.name)
        argv = [str(a) for a in (spec.get("command") or []) + (spec.get("args") or [])]
        if not argv:
            container.write(
                b"sim: the process runtime needs a command or args (the image is not run)\n", time.time()
            )
            self._container_exited(run, container, 128)
            return
        working_dir = spec.get("workingDir")
        cwd = working_dir if isinstance(working_dir, str) and working_dir else None
        # No container may read this process's environment (see isolation).
        scrub_initial_environment()
        try:
            process = await asyncio.create_subprocess_exec(
                *launch_argv(argv),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=self._environment(run, spec),
                cwd=cwd,
                start_new_session=True,
            )
        except OSError as exc:
            container.write(f"sim: cannot start {argv[0]}: {exc.strerror}\n".encode(), time.time())
            self._container_exited(run, container, 127 if isinstance(exc, FileNotFoundError) else 126)
            return
        container.process = process
        assert process.stdout is not None
        try:
            while True:
                line = await process.stdout.readline()
                if not line:
                    break
                container.write(line, time.time())
            code = await process.wait()
        finally:
            if process.returncode is not None:
                _release(process)
        container.process = None
        self._container_exited(run, container, code if code >= 0 else 128 - code)

    def _container_exited(self, run: PodRun, container: ContainerRun, exit_code: int) -> None:
        if run.stopping or "running" not in container.state:
            return
        started = container.state["running"]["startedAt"]
        container.exit_code = exit_code
        terminated = {
            "containerID": container.container_id,
            "exitCode": exit_code,
            "finishedAt": now_rfc3339(),
            "reason": "Completed" if exit_code == 0 else "Error",
            "startedAt": started,
        }
        restart = run.restart_policy == "Always" or (run.restart_policy == "OnFailure" and exit_code != 0)
        if restart and self._current(run) is not None:
            delay = min(RESTART_BACKOFF_CAP, self.restart_backoff_seconds * (2**container.restart_count))
            container.last_state = {"terminated": terminated}
            container.state = {
                "waiting": {
                    "reason": "CrashLoopBackOff" if exit_code else "Completed",
                    "message": f"back-off {delay:g}s restarting failed container="
                    f"{container.name} pod={run.name}_{run.namespace}"
                    f"({run.uid})",
                }
            }
            container.previous_log, container.log = container.log, []
            container.restart_count += 1
            run.timers.append(asyncio.get_running_loop().call_later(delay, self._restart, run, container))
        else:
            container.state = {"terminated": terminated}
        self._write_status(run)

    def _restart(self, run: PodRun, container: ContainerRun) -> None:
        if run.stopping or self._current(run) is None:
            return
        self._start_container(run, container)
        self._write_status(run)

    # -- stopping ----------------------------------------------------------------------------------

    def _stop(self, run: PodRun, grace: float) -> None:
        """Stop a pod being deleted, then remove it."""
        run.stopping = True
        for timer in run.timers:
            timer.cancel()
        run.timers.clear()
        moment = now_rfc3339()
        processes = []
        for container in run.containers.values():
            if container.running:
                container.exit_code = SIGTERM_EXIT
                container.state = {
                    "terminated": {
                        "containerID": container.container_id,
                        "exitCode": SIGTERM_EXIT,
                        "finishedAt": moment,
                        "reason": "Error",
                        "startedAt": container.state["running"]["startedAt"],
                    }
                }
            if container.process is not None and container.process.returncode is None:
                processes.append(container.process)
        loop = asyncio.get_running_loop()
        if processes:
            task = loop.create_task(self._terminate(run, processes, grace))
            run.tasks.add(task)
            task.add_done_callback(run.tasks.discard)
        else:
            loop.call_later(min(grace, MODEL_STOP_SECONDS), self._finish, run)

    async def _terminate(
        self, run: PodRun, processes: list[asyncio.subprocess.Process], grace: float
    ) -> None:
        for process in processes:
            _signal(process, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.gather(*(p.wait() for p in processes)), timeout=max(grace, 0.0))
        except TimeoutError:
            for process in processes:
                _signal(process, signal.SIGKILL)
            await asyncio.gather(*(p.wait() for p in processes))
        for process in processes:
            _release(process)
        self._finish(run)

    def _finish(self, run: PodRun) -> None:
        self._write_status(run)
        self.registry.finish_pod_deletion(run.namespace, run.name)

    def _kill(self, run: PodRun, grace: float) -> None:
        run.stopping = True
        for timer in run.timers:
            timer.cancel()
        run.timers.clear()
        for task in list(run.tasks):
            task.cancel()
        for container in run.containers.values():
            if container.process is not None and container.process.returncode is None:
                _signal(container.process, signal.SIGKILL)
                if not self._closed:
                    reaper = asyncio.get_running_loop().create_task(self._reap(container.process))
                    self._reapers.add(reaper)
                    reaper.add_done_callback(self._reapers.discard)

    @staticmethod
    async def _reap(process: asyncio.subprocess.Process) -> None:
        await process.wait()
        _release(process)

    async def close(self) -> None:
        """Stop every pod's timers and processes."""
        self._closed = True
        tasks: list[asyncio.Task[None]] = []
        processes: list[asyncio.subprocess.Process] = []
        for run in self.pods.values():
            tasks.extend(run.tasks)
            processes.extend(c.process for c in run.containers.values() if c.process is not None)
            self._kill(run, 0.0)
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                await process.wait()
            _release(process)
        tasks.extend(self._reapers)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.pods.clear()

    # -- logs ----------------------------------------------------------------------------------------

    def read_log(
        self,
        pod: dict[str, Any],
        container: str | None,
        *,
        previous: bool = False,
        tail_lines: int | None = None,
        limit_bytes: int | None = None,
        since_seconds: int | None = None,
        since_time: float | None = None,
        timestamps: bool = False,
    ) -> bytes:
        """The log of one container of ``pod``, as ``/pods/{name}/log`` answers it.

        Raises:
            KubeError: 400 when several containers exist and none is named, the container is
                unknown, has not started, or has no previous instance.
        """
        metadata = pod["metadata"]
        name = metadata["name"]
        names = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
        default = (metadata.get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
        if container is None:
            if len(names) == 1:
                container = names[0]
            elif default in names:
                container = default
            else:
                raise bad_request(
                    f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
                )
        if container not in names:
            raise bad_request(f"container {container} is not valid for pod {name}")
        run = self.pods.get((metadata.get("namespace", ""), name))
        state = run.containers.get(container) if run is not None else None
        if previous:
            if state is None or state.previous_log is None:
                raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
            lines = state.previous_log
        else:
            if state is None or not state.container_id:
                reason = "ContainerCreating"
                if state is not None and "waiting" in state.state:
                    reason = state.state["waiting"].get("reason", reason)
                raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
            lines = state.log
        if since_seconds is not None:
            since_time = time.time() - since_seconds
        if since_time is not None:
            lines = [line for line in lines if line[0] >= since_time]
        if tail_lines is not None:
            lines = lines[-tail_lines:] if tail_lines > 0 else []
        if timestamps:
            data = b"".join(rfc3339_nano(moment).encode() + b" " + text for moment, text in lines)
        else:
            data = b"".join(text for _, text in lines)
        if limit_bytes is not None:
            data = data[:limit_bytes]
        return data

    def log_follower(self, pod: dict[str, Any], container: str) -> ContainerRun | None:
        """The live container record of ``pod`` (for ``follow=true``), if it is running here."""
        metadata = pod["metadata"]
        run = self.pods.get((metadata.get("namespace", ""), metadata["name"]))
        return None if run is None else run.containers.get(container)


def _decode(value: Any, resource: str) -> str:
    if resource != "secrets":
        return str(value)
    try:
        return base64.b64decode(str(value)).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""


def _release(process: asyncio.subprocess.Process) -> None:
    # asyncio leaves an exited process's transport open until garbage collection, which may
    # happen after the loop is closed; close it as soon as the exit status is known.
    transport = getattr(process, "_transport", None)
    if transport is not None:
        transport.close()


def _signal(process: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
