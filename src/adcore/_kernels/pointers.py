"""Arrays passed to a compiled segment as addresses, rebuilt inside it.

Numba unboxes every array argument of a call from its Python object (tens of
nanoseconds each); a plan's segment takes well over a hundred arrays, the same objects on
every request. A segment therefore receives their data addresses and shapes as two
int64 arrays, gathered once per context, and each array is rebuilt inside the compiled
code with ``numba.carray(address_as(address, dtype), shape)`` (a struct filled in, no
copy). The Python objects stay referenced by
the caller for as long as the addresses are used.
"""

import ctypes
from typing import Any

import numpy as np
from numba import config, types
from numba.core.extending import intrinsic

__all__ = ["address_as"]


def _address_as_python(address: int, kind: Any) -> Any:
    """With ``NUMBA_DISABLE_JIT=1`` (kernels run as Python, for coverage and debugging):
    a ctypes pointer, which ``numba.carray`` takes in Python."""
    return ctypes.cast(int(address), ctypes.POINTER(np.ctypeslib.as_ctypes_type(kind)))


@intrinsic
def _address_as(typingctx, address, kind):  # type: ignore[no-untyped-def]
    """The integer ``address`` as a pointer to elements of the Numba/NumPy scalar type
    ``kind`` (e.g. ``np.float64``), for ``numba.carray``."""
    if not isinstance(address, types.Integer) or not isinstance(kind, types.NumberClass):
        return None
    pointer = types.CPointer(kind.instance_type)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.inttoptr(args[0], context.get_value_type(pointer))

    return pointer(address, kind), codegen


address_as: Any = _address_as_python if config.DISABLE_JIT else _address_as
