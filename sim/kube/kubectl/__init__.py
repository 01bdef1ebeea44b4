"""What only kubectl needs of the API server: discovery and OpenAPI, Tables, protobuf bodies.

The engine's executors, kubernetes-asyncio and the benchmarks speak JSON to
paths they know; kubectl first asks the server what it serves, prints what the
server renders and sends some bodies in protobuf. Everything that exists for
kubectl alone is here, so its cost is visible:

* ``discovery`` (310 lines): ``/api``, ``/apis``, the APIResourceLists, the
  OpenAPI v2/v3 documents and ``/version``. Without it kubectl cannot map a
  kind to a path (every ``kubectl get|apply|delete`` of a type fails), and
  ``kubectl apply|create`` cannot download the schemas it validates with.
  ``/version`` is also what the benchmarks' readiness probe reads.
* ``field_validation`` (70 lines): ``fieldValidation=Strict``, which the
  OpenAPI documents tell kubectl the server does; without it unknown fields
  of built-in kinds are accepted silently.
* ``tables`` (234 lines): server-side printing; without it ``kubectl get``
  has none of kube-apiserver's columns (READY, STATUS, RESTARTS,
  COMPLETIONS, DURATION, AGE), ``kubectl get -w`` neither.
* ``protobuf`` (386 lines): bodies of kubectl's typed clients (``kubectl
  create configmap|secret|job|deployment``, ``kubectl run``, ``kubectl auth
  can-i``), which client-go sends in protobuf with no JSON fallback; without
  it those commands get 415.

About 1,000 lines in all, and about twenty lines of calls in ``sim.kube.api``;
per request the price is one look at the Accept header of reads and one at
the Content-Type of bodies. Its tests: tests/sim/kube/test_kube_kubectl.py
(kubectl itself against the simulator), test_kube_protobuf.py, and the
discovery, OpenAPI and field-validation tests of test_kube_api.py.
"""
