"""The kubelet's pod lifecycle: admit, start, exit, restart, stop, kill — by timers or subprocesses.

Pods move Pending → Running → Succeeded/Failed the way a kubelet reports them
(``status``), with restart counts and ``lastState`` for ``OnFailure``/``Always``.
How a container behaves comes from the runtime:

* ``model`` (default, cheap enough for 10,000 Jobs): the pod's annotations decide —
  ``sim.statewright.io/seconds`` (run time, default 1), ``sim.statewright.io/exit-code``
  (default 0) and ``sim.statewright.io/log`` (the lines it writes, newline-terminated like
  ``echo``; default nothing). A ``restartPolicy: Always`` pod without a run time models a
  server and runs until deleted. A
  ``.<container>`` suffix on a key targets one container. Each transition is one
  ``loop.call_later`` timer; there is no polling loop.
* ``process`` (opt-in): each container's ``command`` + ``args`` run as a local
  subprocess (the image is ignored, ``env`` is passed (``environment``), stdout and
  stderr become the log, the exit code is the container's). This executes commands
  that API clients send, so it is off unless asked for and the server only listens
  on loopback; containers start through a launcher and cannot read the server's
  environment (``isolation``).

Graceful deletion: when a running pod is deleted the registry asks the kubelet
(``accepts_graceful_deletion``), the pod gets a ``deletionTimestamp``, the kubelet
stops its containers (SIGTERM, then SIGKILL after the grace period) and then
removes the pod.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import os
import signal
import time
from typing import Any, Final, Literal

from sim.kube.kubelet.environment import container_environment
from sim.kube.kubelet.isolation import launch_argv, scrub_initial_environment
from sim.kube.kubelet.logs import DEFAULT_LOG_OPTIONS, LogOptions, read_log
from sim.kube.kubelet.node import NODE_NAME
from sim.kube.kubelet.records import ContainerRun, PodRun
from sim.kube.kubelet.status import pod_status
from sim.kube.objects import with_changes
from sim.kube.registry import Registry
from sim.kube.store import ADDED, DELETED, Entry, Event, now_rfc3339

Runtime = Literal["model", "process"]
ANNOTATION_SECONDS: Final = "sim.statewright.io/seconds"
ANNOTATION_EXIT_CODE: Final = "sim.statewright.io/exit-code"
ANNOTATION_LOG: Final = "sim.statewright.io/log"
DEFAULT_STARTUP_SECONDS: Final = 0.05
MODEL_STOP_SECONDS: Final = 0.02
SIGTERM_EXIT: Final = 143
RESTART_BACKOFF_CAP: Final = 300.0


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
        registry.deletion.graceful_pod_hook = self.accepts_graceful_deletion
        registry.store.subscribe(self._on_event)

    # -- events ----------------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if event.table.info is not self.info or self._closed:
            return
        metadata = event.entry.obj["metadata"]
        key = (metadata.get("namespace", ""), metadata["name"])
        if event.type == ADDED:
            self.admit(event.entry)
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

    def admit(self, entry: Entry) -> None:
        """Take on a pod that is stored now (on its ADDED event, or at start-up)."""
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
        status = pod_status(run, entry.obj.get("status") or {})
        self.registry.write_status(self.info, with_changes(entry, spec=spec, status=status))

    def _write_status(self, run: PodRun) -> None:
        entry = self._current(run)
        if entry is None:
            return
        status = pod_status(run, entry.obj.get("status") or {})
        if status != entry.obj.get("status"):
            self.registry.write_status(self.info, with_changes(entry, status=status))

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
                env=container_environment(self.registry.store, run, spec),
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
        self, pod: dict[str, Any], container: str | None, options: LogOptions = DEFAULT_LOG_OPTIONS
    ) -> bytes:
        """The log of one container of ``pod``, as ``/pods/{name}/log`` answers it (see ``logs``).

        Raises:
            KubeError: 400 when several containers exist and none is named, the container is
                unknown, has not started, or has no previous instance.
        """
        return read_log(self.pods, pod, container, options)

    def log_follower(self, pod: dict[str, Any], container: str) -> ContainerRun | None:
        """The live container record of ``pod`` (for ``follow=true``), if it is running here."""
        metadata = pod["metadata"]
        run = self.pods.get((metadata.get("namespace", ""), metadata["name"]))
        return None if run is None else run.containers.get(container)


def _release(process: asyncio.subprocess.Process) -> None:
    # asyncio leaves an exited process's transport open until garbage collection, which may
    # happen after the loop is closed; close it as soon as the exit status is known.
    transport = getattr(process, "_transport", None)
    if transport is not None:
        transport.close()


def _signal(process: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
