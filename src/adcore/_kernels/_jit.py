"""The one place that sets Numba JIT options for adcore's kernels.

- Caching: compiled machine code is written next to the sources (or, where that is not
  writable, in the user's cache directory) and loaded on the next start, so a process
  pays compilation once per kernel signature, not per start. Numba keys its cache by
  the source of the file defining a kernel only, so a kernel compiled into another (a
  plan's generated segments call the auction kernel) would keep running stale code
  after the callee's file changed, and a change of the options below would go
  unnoticed. adcore's cache is keyed instead by the contents of every file in
  ``adcore._kernels`` and these options: any change recompiles every kernel once.
- ``nogil=True``: kernels release the GIL, so decisions on several threads overlap.
- A limited fastmath set: contractions, reassociation and signed zeros, but never
  ``nnan``/``ninf`` (NaN and infinity keep their IEEE meaning) and not ``arcp`` (which
  turns ``x / 1000.0`` into ``x * 0.001``, one ulp off, and money caps must be exact).
  Learners' updates use no fastmath at all (:func:`exact_kernel`), so a batch of updates
  equals the same updates one by one bit for bit.
- ``boundscheck=False`` (the wrappers and the engine guarantee shapes), unless the
  environment variable ``ADCORE_BOUNDSCHECK`` is ``1`` when adcore is imported: then
  every out-of-bounds index raises ``IndexError``, and kernels compile without the
  on-disk cache (so a debugging process never replaces the production cache).

Kernels are decorated with :func:`kernel`; nothing else in adcore calls ``numba.njit``.
Importing this module compiles nothing: compilation happens on first call or in
``adcore.Engine.warmup()``.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numba
from numba.core import caching

F = TypeVar("F", bound=Callable[..., Any])

FASTMATH = frozenset({"contract", "reassoc", "nsz"})

BOUNDSCHECK = os.environ.get("ADCORE_BOUNDSCHECK") == "1"
"""Whether kernels check every index (debugging; read once, at import)."""

_OPTIONS: dict[str, Any] = {
    "nogil": True,
    "fastmath": set(FASTMATH),
    "boundscheck": BOUNDSCHECK,
    "error_model": "numpy",
}

_KERNELS = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=4)
def _stamp(files: tuple[tuple[str, int, int], ...], options: str) -> bytes:
    digest = hashlib.sha256(options.encode())
    for name, _, _ in files:
        digest.update(name.encode())
        digest.update((_KERNELS / name).read_bytes())
    return digest.digest()


def _package_stamp() -> bytes:
    """A digest of every kernel source file and the JIT options (re-read when a file's
    modification time or size changes)."""
    files = tuple(
        (p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(_KERNELS.glob("*.py"))
    )
    options = {k: sorted(v) if isinstance(v, (set, frozenset)) else v for k, v in _OPTIONS.items()}
    return _stamp(files, repr(sorted(options.items())))


class _InTreeLocator(caching.InTreeCacheLocator):
    def get_source_stamp(self) -> Any:
        return _package_stamp()


class _UserWideLocator(caching.UserWideCacheLocator):
    def get_source_stamp(self) -> Any:
        return _package_stamp()


class _CacheImpl(caching.CompileResultCacheImpl):
    _locator_classes = [_InTreeLocator, _UserWideLocator]


class _Cache(caching.FunctionCache):
    _impl_class = _CacheImpl


def _compile(fn: F, exact: bool = False) -> F:
    options = dict(_OPTIONS, fastmath=False) if exact else _OPTIONS
    dispatcher = numba.njit(**options)(fn)
    if not BOUNDSCHECK:
        dispatcher._cache = _Cache(fn)  # what Dispatcher.enable_caching does, with our key
    return dispatcher  # type: ignore[no-any-return]


def kernel(fn: F) -> F:
    """Compile ``fn`` lazily with adcore's JIT options."""
    return _compile(fn)


HELPERS: set[str] = set()
"""Qualified names of kernels only ever called from other kernels (compiled into them,
so they never get a signature of their own)."""


def helper(fn: F) -> F:
    """A kernel called only from other kernels (LLVM inlines it where it pays)."""
    HELPERS.add(f"{fn.__module__}.{fn.__qualname__}")
    return _compile(fn)


def exact_kernel(fn: F) -> F:
    """A kernel compiled without fastmath: every operation is the IEEE operation written,
    in the order written, wherever it is inlined. For learners' updates, whose batch form
    must equal the same updates one call at a time bit for bit (with contractions and
    reassociation, the same helper may round differently in two callers)."""
    return _compile(fn, exact=True)


def exact_helper(fn: F) -> F:
    """A helper of :func:`exact_kernel` kernels, compiled the same way."""
    HELPERS.add(f"{fn.__module__}.{fn.__qualname__}")
    return _compile(fn, exact=True)
