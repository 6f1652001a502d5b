"""What every OpenRTB message is made of: the constrained field types and the base Struct.

The field types carry the value ranges msgspec checks while decoding (a 0/1 flag, a
non-negative 32-bit count, a price ``>= 0``, ...); :class:`_Message` is the base of every
request and response Struct.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

import msgspec

# OpenRTB integers are 32-bit in practice (AdCOM lists, sizes, seconds): larger values
# are rejected while decoding, so none can overflow an engine array later.
_INT_MAX: Final = 2**31 - 1
_Int = Annotated[int, msgspec.Meta(ge=-(2**31), le=_INT_MAX)]
_Flag = Annotated[int, msgspec.Meta(ge=0, le=1)]
_NonNegInt = Annotated[int, msgspec.Meta(ge=0, le=_INT_MAX)]
_Price = Annotated[float, msgspec.Meta(ge=0.0)]
_MarkupType = Annotated[int, msgspec.Meta(ge=1, le=4)]
_UtcOffset = Annotated[int, msgspec.Meta(ge=-720, le=840)]
_Strs = tuple[str, ...]
_Ints = tuple[_Int, ...]
_Ext = dict[str, Any]


class _Message(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, repr_omit_defaults=True
):
    """Base of every OpenRTB message: frozen, keyword-only, compact when encoded.

    Every message class is declared with ``gc=False``: messages form trees (a decoder
    cannot make a cycle, and the engine never stores a message inside one), so the
    garbage collector need not track them, and a batch holding thousands of validated
    requests costs it nothing. An ``ext`` built in Python that refers back to its own
    message would therefore never be freed."""
