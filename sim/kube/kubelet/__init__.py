"""The simulated node: runs every pod, keeps container logs, stops pods on deletion.

``lifecycle`` (:class:`Kubelet`: admit, start, exit, restart, stop, by timers or
subprocesses) keeps ``records`` of what runs and reports ``status``; ``logs``
answers log reads; ``environment`` resolves a container's env; ``isolation``
keeps the process runtime's containers away from the server's credentials;
``node`` is the one Node object.
"""

from sim.kube.kubelet.lifecycle import (
    ANNOTATION_EXIT_CODE,
    ANNOTATION_LOG,
    ANNOTATION_SECONDS,
    DEFAULT_STARTUP_SECONDS,
    Kubelet,
    Runtime,
)
from sim.kube.kubelet.logs import LogOptions
from sim.kube.kubelet.node import node_object

__all__ = [
    "ANNOTATION_EXIT_CODE",
    "ANNOTATION_LOG",
    "ANNOTATION_SECONDS",
    "DEFAULT_STARTUP_SECONDS",
    "Kubelet",
    "LogOptions",
    "Runtime",
    "node_object",
]
