"""What msgspec's types cannot check: request rules, and tolerance of stray values.

:func:`check_request` applies the rules that span fields or that a type annotation
cannot state (``at`` codes, unique impression ids, finite floors); :func:`tolerate`
drops the out-of-range optional values that no decision reads instead of rejecting the
request. Both work on a decoded, well-typed :class:`BidRequest`.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from adcore.errors import InvalidRequest

from ._imp import Pmp
from ._request import BidRequest, Device, Geo

__all__ = ["check_request", "tolerate"]

_INF: Final = float("inf")


def _floor_error(field: str, value: float) -> InvalidRequest:
    problem = "must be >= 0" if value < 0.0 else "must be a finite number"
    return InvalidRequest(f"{field}: {problem}, got {value!r}", field)


def _check_deals(pmp: Pmp, i: int) -> None:
    for j, deal in enumerate(pmp.deals):
        if not 0.0 <= deal.bidfloor < _INF:
            raise _floor_error(f"imp[{i}].pmp.deals[{j}].bidfloor", deal.bidfloor)


def check_request(req: BidRequest) -> None:
    """Check what msgspec's type validation cannot, in place, cheaply.

    Checks that ``at`` is 1, 2 or >= 500, that there is at least one impression, that
    impression ids are unique, and that every impression and deal floor is finite and
    ``>= 0`` (NaN and infinities are rejected). :func:`decode_request` calls it; call it
    yourself on a :class:`BidRequest` built in Python from trusted, well-typed values (it
    does not check types: use :func:`validate_request` for untrusted ones).

    Parameters
    ----------
    req : BidRequest
        The request to check.

    Raises
    ------
    InvalidRequest
        On the first problem found; ``field`` is its path (``"imp[1].id"``).

    Examples
    --------
    >>> from adcore.openrtb import BidRequest, Imp, check_request
    >>> check_request(BidRequest(id="r", imp=(Imp(id="1", bidfloor=0.2),)))
    >>> try:
    ...     check_request(BidRequest(id="r", imp=(Imp(id="1"), Imp(id="1"))))
    ... except ValueError as exc:
    ...     print(exc.field, "-", exc)
    imp[1].id - imp[1].id: duplicate impression id '1'
    >>> try:
    ...     check_request(BidRequest(id="r", imp=(Imp(id="1", bidfloor=float("nan")),)))
    ... except ValueError as exc:
    ...     print(exc.field)
    imp[0].bidfloor
    """
    at = req.at
    if at != 2 and at != 1 and at < 500:
        raise InvalidRequest(
            f"at: must be 1 (first price), 2 (second price) or >= 500 (exchange-specific), "
            f"got {at!r}",
            "at",
        )
    imps = req.imp
    if len(imps) == 1:
        imp = imps[0]
        if not 0.0 <= imp.bidfloor < _INF:
            raise _floor_error("imp[0].bidfloor", imp.bidfloor)
        if imp.pmp is not None:
            _check_deals(imp.pmp, 0)
        return
    if not imps:
        raise InvalidRequest("imp: at least one impression is required", "imp")
    seen: set[str] = set()
    for i, imp in enumerate(imps):
        if imp.id in seen:
            raise InvalidRequest(f"imp[{i}].id: duplicate impression id {imp.id!r}", f"imp[{i}].id")
        seen.add(imp.id)
        if not 0.0 <= imp.bidfloor < _INF:
            raise _floor_error(f"imp[{i}].bidfloor", imp.bidfloor)
        if imp.pmp is not None:
            _check_deals(imp.pmp, i)


def _geo_drops(geo: Geo, where: str, notes: list[str]) -> Geo:
    changes: dict[str, None] = {}
    lat, lon = geo.lat, geo.lon
    if lat is not None and not -90.0 <= lat <= 90.0:
        changes["lat"] = None
        notes.append(f"{where}.lat: {lat!r} is outside [-90, 90]")
    if lon is not None and not -180.0 <= lon <= 180.0:
        changes["lon"] = None
        notes.append(f"{where}.lon: {lon!r} is outside [-180, 180]")
    for name in ("accuracy", "lastfix"):
        v = getattr(geo, name)
        if v is not None and v < 0:
            changes[name] = None
            notes.append(f"{where}.{name}: {v!r} is negative")
    return msgspec.structs.replace(geo, **changes) if changes else geo


def _device_drops(device: Device, notes: list[str]) -> Device:
    changes: dict[str, Any] = {}
    for name in ("h", "w", "ppi"):
        v = getattr(device, name)
        if v is not None and v < 0:
            changes[name] = None
            notes.append(f"device.{name}: {v!r} is negative")
    px = device.pxratio
    if px is not None and not 0.0 < px < _INF:
        changes["pxratio"] = None
        notes.append(f"device.pxratio: {px!r} is not a positive finite number")
    if device.geo is not None:
        geo = _geo_drops(device.geo, "device.geo", notes)
        if geo is not device.geo:
            changes["geo"] = geo
    return msgspec.structs.replace(device, **changes) if changes else device


def tolerate(req: BidRequest) -> tuple[BidRequest, tuple[str, ...]]:
    """Drop the out-of-range optional values that no decision reads.

    Exchanges send sloppy values in fields that touch neither money, consent nor
    eligibility; rejecting a whole request for them loses a sale. These are dropped (set
    to ``None``) and noted: ``geo.lat`` outside [-90, 90], ``geo.lon`` outside
    [-180, 180], a negative ``geo.accuracy`` or ``geo.lastfix`` (in ``device.geo`` and
    ``user.geo``), a negative ``device.h``, ``device.w`` or ``device.ppi``, and a
    ``device.pxratio`` that is not a positive finite number. Everything else that is out
    of range is rejected by :func:`decode_request` (``docs/openrtb.md`` has the table).
    :func:`decode_request` and :func:`validate_request` call it; the engine shows the
    notes in a decision's trace (``Trace.dropped``).

    Parameters
    ----------
    req : BidRequest
        A request that passed :func:`check_request`.

    Returns
    -------
    tuple of (BidRequest, tuple of str)
        The request (the same object when nothing was dropped) and one note per dropped
        value, naming its path.

    Examples
    --------
    >>> from adcore.openrtb import BidRequest, Device, Geo, Imp, tolerate
    >>> req = BidRequest(id="r", imp=(Imp(id="1"),), device=Device(geo=Geo(lat=123.456)))
    >>> kept, notes = tolerate(req)
    >>> kept.device.geo.lat is None, notes
    (True, ('device.geo.lat: 123.456 is outside [-90, 90]',))
    >>> tolerate(BidRequest(id="r", imp=(Imp(id="1"),)))[0] is not None
    True
    """
    device, user = req.device, req.user
    if device is None and (user is None or user.geo is None):
        return req, ()
    notes: list[str] = []
    changes: dict[str, Any] = {}
    if device is not None:
        d = _device_drops(device, notes)
        if d is not device:
            changes["device"] = d
    if user is not None and user.geo is not None:
        geo = _geo_drops(user.geo, "user.geo", notes)
        if geo is not user.geo:
            changes["user"] = msgspec.structs.replace(user, geo=geo)
    if not changes:
        return req, ()
    return msgspec.structs.replace(req, **changes), tuple(notes)
