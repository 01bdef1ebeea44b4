"""A Step Functions-compatible API server: boto3, aioboto3 and the AWS CLI work unchanged.

``statewright serve`` (``ApiServer``) answers the Step Functions wire protocol,
AWS JSON 1.0, and runs the executions itself on the engine. The private
modules split it by concern:

* ``_protocol``: requests and responses checked and shaped by botocore's own
  ``stepfunctions`` model; ``_errors``: AWS's error shape; ``_arns``, ``_paging``;
* ``_state_machines``, ``_executions``, ``_callbacks`` (SendTask*),
  ``_activities`` (and the executor that runs activity Tasks);
* ``_service``: the operations by name; ``_server``: HTTP, SigV4 (``_sigv4``)
  and ``GET /metrics`` (``_metrics``).

What ``__all__`` lists is the supported API.
"""

from statewright.api._errors import ApiError
from statewright.api._server import DEFAULT_HOST, DEFAULT_PORT, MAX_REQUEST_BYTES, ApiServer
from statewright.api._service import StepFunctionsService
from statewright.api._sigv4 import SigV4Verifier

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "MAX_REQUEST_BYTES",
    "ApiError",
    "ApiServer",
    "SigV4Verifier",
    "StepFunctionsService",
]
