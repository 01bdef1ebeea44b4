"""The HTTP face of the simulated kube-apiserver.

``routes`` (:class:`KubeApi`: path parsing, authentication, authorization, the
object verbs) hands each request to the module of its kind: ``lists`` (paged
lists from stored bytes), ``watch`` (watch streams), ``logs`` (pod logs and
``follow``), ``reviews`` (SelfSubjectAccessReview); ``requests`` reads query
parameters and bodies for all of them. What only kubectl asks for (discovery,
OpenAPI, Tables, protobuf bodies) lives in ``sim.kube.kubectl``.
"""

from sim.kube.api.requests import JSON_HEADERS, MAX_REQUEST_BODY_BYTES
from sim.kube.api.routes import KubeApi

__all__ = ["JSON_HEADERS", "MAX_REQUEST_BODY_BYTES", "KubeApi"]
