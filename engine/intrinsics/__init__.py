"""ASL intrinsic functions: ``States.Format(...)`` and the seventeen others.

:func:`compile_intrinsic` parses a call once, at definition time, checking
arity and literal arguments; :meth:`Intrinsic.evaluate` runs it against a
:class:`~engine.scope.Scope`. The parser lives in :mod:`.parse`, the
functions and their argument table in :mod:`.functions`.
"""

from engine.intrinsics.functions import FUNCTIONS, ArgType, FunctionSpec, IntrinsicSyntaxError
from engine.intrinsics.parse import Intrinsic, compile_intrinsic, is_intrinsic

__all__ = [
    "FUNCTIONS",
    "ArgType",
    "FunctionSpec",
    "Intrinsic",
    "IntrinsicSyntaxError",
    "compile_intrinsic",
    "is_intrinsic",
]
