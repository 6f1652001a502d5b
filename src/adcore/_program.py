"""The compiled request path, generated from the agents' kernel steps.

Each agent whose work is a kernel declares it once, as its
:class:`~adcore.agents.base.KernelStep`. A plan is cut into *parts*: a run of
consecutive agents that declare steps becomes one :class:`Segment`, and each agent that
runs in Python (no step, or a class that overrides ``run``) is a part of its own. For each
segment, the source of one compiled function is generated that calls the steps' kernels
in plan order with the declared arguments::

    def segment(first, last, d, ptrs, shapes, v):
        v_n_imp = d[0]              # context values, read on every call
        ...
        if first <= 0 and 0 < last:  # audience_pass
            a0 = carray(address_as(ptrs[0], np.uint8), (shapes[0], shapes[1]))  # ctx.reason
            ...
            v_has_interest = k0(a0, v_n_imp, a1, ...)
        if first <= 1 and 1 < last:  # inventory_fit
            v_n_cand = k1(...)
        ...
        return (v_has_interest, v_n_cand, )

Every array argument (of the context, the snapshot or a state: the same objects from
request to request) reaches the function as its address and shape, gathered once per
context and snapshot, and is rebuilt inside it without a copy
(:mod:`adcore._kernels.pointers`): unboxing two int64 arrays instead of well over a
hundred arrays saves most of a call's overhead. Other values (scalars, the rare
non-contiguous array) come in the tuple ``v``; ``d`` holds the context values the steps
read or return. Every path runs this one function: untraced, the whole segment in one
call; traced, or when the latency budget is at risk, one step per call (``first``,
``last``), so the traced path observes the same compiled code that serves. The steps'
Python ``prepare`` hooks run before the segment, in plan order, on every path.

The source depends on the plan and on the dtypes and dimensions of the arrays (the
*layout*). It is written to a file named by its digest (in the directory of
:func:`program_dir`) and imported from there, so Numba caches its machine code like any
kernel's: a plan compiles once per machine, not per process.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import operator
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .agents.base import Agent, KernelStep
from .context import INPUTS, REGISTRY, SCRATCH, Context
from .errors import PlanError

__all__ = ["BoundSegment", "Segment", "compiled", "parts", "program_dir"]

Layout = tuple[tuple[str, int] | None, ...]
"""Per static argument of a segment: ``(dtype name, ndim)`` of an array passed by
address, or None for a value passed as itself."""

_NP = {"bool": "bool_"}  # NumPy names whose attribute differs (np.bool is NumPy 2 only)

_HEADER = "# A compiled segment of an adcore plan, generated from its agents' kernel steps.\n"


def compiled(agent: Agent) -> bool:
    """Whether ``agent`` runs as a kernel step inside a compiled segment: it declares a
    step and its class does not override ``run`` (an override runs in Python)."""
    return agent.step is not None and type(agent).run is Agent.run


def program_dir() -> Path:
    """Where generated segments are written: ``$ADCORE_CACHE_DIR``, else Numba's
    ``NUMBA_CACHE_DIR``, else the user's cache directory, each under ``adcore-plans``
    (a temporary directory when none is writable)."""
    import numba
    from numba.misc.appdirs import AppDirs

    user = AppDirs("adcore")  # type: ignore[no-untyped-call]
    bases = [os.environ.get("ADCORE_CACHE_DIR"), getattr(numba.config, "CACHE_DIR", "")]
    bases.append(user.user_cache_dir)
    for base in bases:
        if not base:
            continue
        path = Path(base) / "adcore-plans"
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK):
            return path
    path = Path(tempfile.gettempdir()) / f"adcore-plans-{os.getuid()}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _kernel_ref(agent: Agent, step: KernelStep) -> tuple[str, str]:
    """The module and name the generated source imports ``step.kernel`` from."""
    fn = getattr(step.kernel, "py_func", None)
    if fn is None and _jit_disabled() and inspect.isfunction(step.kernel):
        fn = step.kernel  # NUMBA_DISABLE_JIT=1: kernels are plain Python functions
    if fn is None or not callable(fn):
        raise PlanError(
            f"agent {agent.name!r}: its step's kernel {step.kernel!r} is not a compiled "
            "(numba.njit) function"
        )
    module, name = fn.__module__, fn.__qualname__
    try:
        found = getattr(importlib.import_module(module), name, None)
    except ImportError:
        found = None
    if found is not step.kernel:
        raise PlanError(
            f"agent {agent.name!r}: its step's kernel must be a top-level function of an "
            f"importable module ({module}.{name} is not)"
        )
    return module, name


def _jit_disabled() -> bool:
    import numba

    return bool(getattr(numba.config, "DISABLE_JIT", False))


def _check(agent: Agent, step: KernelStep) -> None:
    """The step's context arguments and returns agree with the agent's declared fields
    (so the plan's order, computed from those, is the order the kernels need)."""
    declared = agent.reads | agent.writes | agent.reads_if_written | INPUTS | {SCRATCH}
    for root, path in step.sources:
        if root != "ctx":
            continue
        if path not in REGISTRY:
            raise PlanError(
                f"agent {agent.name!r}: its step reads ctx.{path}, which the context does "
                "not hold (adcore.context.REGISTRY)"
            )
        field = REGISTRY[path].field
        if field not in declared:
            raise PlanError(
                f"agent {agent.name!r}: its step passes ctx.{path} (field {field!r}), which "
                f"the agent declares in neither reads {sorted(agent.reads)} nor writes "
                f"{sorted(agent.writes)}"
            )
    for name in step.returns:
        if name not in REGISTRY or REGISTRY[name].dtype is not None:
            raise PlanError(
                f"agent {agent.name!r}: its step returns into {name!r}, which is not a "
                "per-request context value (adcore.context.REGISTRY)"
            )
        if REGISTRY[name].field not in agent.writes:
            raise PlanError(
                f"agent {agent.name!r}: its step returns into {name!r} (field "
                f"{REGISTRY[name].field!r}), which the agent does not declare in writes"
            )


def _dynamic(root: str, path: str) -> bool:
    """Whether an argument is read on every call: a context value (not an array)."""
    return root == "ctx" and REGISTRY[path].dtype is None


_LOADED: dict[str, Any] = {}
_LOAD_LOCK = threading.Lock()


def _load(source: str, extra: bytes) -> Any:
    """The compiled function defined by ``source`` (written to a file named by its
    digest and ``extra``, imported once per process)."""
    digest = hashlib.sha256(source.encode() + extra).hexdigest()[:24]
    with _LOAD_LOCK:
        fn = _LOADED.get(digest)
        if fn is not None:
            return fn
        name = f"adcore_segment_{digest}"
        path = program_dir() / f"{name}.py"
        if not path.exists() or path.read_text() != source:
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(source)
            os.replace(tmp, path)
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        fn = _LOADED[digest] = module.segment
        return fn


class Segment:
    """Consecutive agents' kernel steps, generated into one compiled function.

    Parameters
    ----------
    agents : sequence of Agent
        Agents for which :func:`compiled` holds, in plan order.

    Attributes
    ----------
    agents : tuple of Agent
    names : tuple of str
        The agents' names.
    source : str or None
        The Python source generated most recently for this segment.
    """

    __slots__ = (
        "_extra",
        "_imports",
        "_programs",
        "_steps",
        "agents",
        "dynamic",
        "names",
        "returns",
        "source",
        "static",
        "static_names",
    )

    def __init__(self, agents: Sequence[Agent]) -> None:
        self.agents = tuple(agents)
        self.names = tuple(a.name for a in self.agents)
        steps: list[KernelStep] = []
        for a in self.agents:
            step = a.step
            assert step is not None
            _check(a, step)
            steps.append(step)
        dynamic: list[str] = []
        for step in steps:
            for root, path in step.sources:
                if _dynamic(root, path) and path not in dynamic:
                    dynamic.append(path)
            for name in step.returns:
                if name not in dynamic:
                    dynamic.append(name)
        returns = [n for step in steps for n in step.returns]
        self.dynamic = tuple(dynamic)
        """The context values passed on every call (``d``), in order."""
        self.returns = tuple(dict.fromkeys(returns))
        """The context values the function returns, in order."""
        self.static: tuple[tuple[tuple[str, Callable[[Any], Any]], ...], ...] = tuple(
            tuple(
                (root, operator.attrgetter(path))
                for root, path in step.sources
                if not _dynamic(root, path)
            )
            for step in steps
        )
        """Per step, the getters of its arguments gathered once per context."""
        self.static_names = tuple(
            (a.name, f"{root}.{path}")
            for a, step in zip(self.agents, steps, strict=True)
            for root, path in step.sources
            if not _dynamic(root, path)
        )
        """``(agent name, argument)`` of every static argument, in order."""
        self._steps = tuple(steps)
        imports = []
        extra = hashlib.sha256()
        for i, (a, step) in enumerate(zip(self.agents, steps, strict=True)):
            module, name = _kernel_ref(a, step)
            imports.append(f"from {module} import {name} as k{i}")
            if not module.startswith("adcore."):
                # Numba's cache is keyed by adcore's kernel sources: a user kernel's
                # source keys the generated file instead.
                fn = getattr(step.kernel, "py_func", step.kernel)
                extra.update(Path(inspect.getfile(fn)).read_bytes())
        self._imports = tuple(imports)
        self._extra = extra.digest()
        self._programs: dict[Layout, Any] = {}
        self.source: str | None = None
        """The source generated most recently (None before the first call)."""

    def generate(self, layout: Layout) -> str:
        """The source of the compiled function for the static arguments' ``layout``:
        per argument, ``(dtype name, ndim)`` for a C-contiguous array passed by address
        (rebuilt inside with ``numba.carray``), or ``None`` for a value passed in the
        tuple ``v`` (scalars, other arrays)."""
        lines = [
            _HEADER,
            "import numpy as np",
            "from numba import carray",
            "from adcore._kernels._jit import kernel",
            "from adcore._kernels.pointers import address_as",
            *self._imports,
            "",
            "",
            "@kernel",
            "def segment(first, last, d, ptrs, shapes, v):",
        ]
        lines += [f"    v_{n} = d[{j}]" for j, n in enumerate(self.dynamic)]
        where = iter(layout)
        n_ptr = n_shape = n_val = 0
        for i, step in enumerate(self._steps):
            args = []
            views = []  # the step's arrays, rebuilt only when the step runs
            for root, path in step.sources:
                if _dynamic(root, path):
                    args.append(f"v_{path}")
                    continue
                kind = next(where)
                if kind is None:
                    args.append(f"v[{n_val}]")
                    n_val += 1
                    continue
                dtype, ndim = kind
                shape = ", ".join(f"shapes[{n_shape + k}]" for k in range(ndim))
                np_name = _NP.get(dtype, dtype)
                pointer = f"address_as(ptrs[{n_ptr}], np.{np_name})"
                views.append(f"        a{n_ptr} = carray({pointer}, ({shape},))")
                args.append(f"a{n_ptr}")
                n_ptr += 1
                n_shape += ndim
            call = f"k{i}({', '.join(args)})"
            if len(step.returns) == 1:
                call = f"v_{step.returns[0]} = {call}"
            elif step.returns:
                call = f"{', '.join('v_' + n for n in step.returns)} = {call}"
            # The kernel's name, not the agent's: plans whose steps call the same kernels
            # with the same arguments share one generated function (and its compilation).
            name = getattr(step.kernel, "__name__", f"k{i}")
            lines += [f"    if first <= {i} and {i} < last:  # {name}", *views, f"        {call}"]
        if self.returns:
            lines.append(f"    return ({''.join(f'v_{n}, ' for n in self.returns)})")
        else:
            lines.append("    return 0")
        return "\n".join(lines) + "\n"

    def program(self, layout: Layout) -> Any:
        """The compiled function for ``layout`` (see :meth:`generate`): its source
        written and imported on first use."""
        fn = self._programs.get(layout)
        if fn is None:
            source = self.generate(layout)
            fn = self._programs[layout] = _load(source, self._extra)
            self.source = source
        return fn

    def bind(self, states: dict[str, Any]) -> BoundSegment:
        """This segment with its agents' states for one catalog snapshot."""
        return BoundSegment(self, states)


class BoundSegment:
    """A :class:`Segment` bound to its agents' states for one catalog snapshot.

    Attributes
    ----------
    prepares : tuple of (prepare, state, agent)
        The steps' Python hooks, in plan order: :meth:`prepare` runs them.
    states : tuple
        Each agent's state, in the segment's order.
    """

    __slots__ = ("_dyn", "_n", "prepares", "segment", "states")

    def __init__(self, segment: Segment, states: dict[str, Any]) -> None:
        self.segment = segment
        self.states = tuple(states[a.name] for a in segment.agents)
        self.prepares = tuple(
            (a.step.prepare, s, a)
            for a, s in zip(segment.agents, self.states, strict=True)
            if a.step is not None and a.step.prepare is not None
        )
        self._n = len(segment.agents)
        dyn = segment.dynamic
        self._dyn: Callable[[Context], Any] = (
            (operator.attrgetter(*dyn) if len(dyn) > 1 else (lambda ctx: (getattr(ctx, dyn[0]),)))
            if dyn
            else (lambda ctx: ())
        )

    def prepare(self, ctx: Context) -> None:
        """Run the steps' Python hooks for the request in ``ctx``."""
        for prep, state, _ in self.prepares:
            prep(ctx, state)

    def _gather(self, ctx: Context) -> list[Any]:
        """Every static argument of the segment's steps for ``ctx``, in order."""
        roots: dict[str, Any] = {"ctx": ctx, "snap": ctx.snapshot}
        out: list[Any] = []
        for getters, state in zip(self.segment.static, self.states, strict=True):
            roots["state"] = state
            for root, get in getters:
                try:
                    out.append(get(roots[root]))
                except AttributeError as exc:
                    raise PlanError(f"a kernel step's argument cannot be read: {exc}") from exc
        return out

    def _statics(self, ctx: Context) -> tuple[Any, ...]:
        """The static arguments for ``ctx``: ``(layout, ptrs, shapes, values, keep)``,
        ``keep`` holding every argument (so every object whose memory ``ptrs`` points
        into)."""
        layout: list[tuple[str, int] | None] = []
        ptrs: list[int] = []
        shapes: list[int] = []
        values: list[Any] = []
        keep = self._gather(ctx)
        for x in keep:
            if (
                type(x) is np.ndarray
                and x.flags.c_contiguous
                and x.dtype.isnative
                and x.dtype.kind in "biuf"
                and x.ndim > 0
            ):
                layout.append((x.dtype.name, x.ndim))
                ptrs.append(x.ctypes.data)
                shapes.extend(x.shape)
            else:
                layout.append(None)
                values.append(x)
        return (
            tuple(layout),
            np.array(ptrs, dtype=np.int64),
            np.array(shapes or [0], dtype=np.int64),
            tuple(values),
            tuple(keep),
        )

    def replaced(self, ctx: Context) -> list[tuple[str, str]]:
        """The static arguments that changed since the segment last ran on ``ctx``, as
        ``(agent name, argument)``: an array replaced by another object, or a value
        that changed (both break the step's contract, see
        :class:`~adcore.agents.base.KernelStep`). Empty before the first run."""
        entry = ctx.compiled_args.get(self)
        if entry is None:
            return []
        bad = []
        for (agent, arg), was, now in zip(
            self.segment.static_names, entry[0][4], self._gather(ctx), strict=True
        ):
            if isinstance(was, np.ndarray) or isinstance(now, np.ndarray):
                if was is not now:
                    bad.append((agent, arg))
            elif not (was is now or was == now):
                bad.append((agent, arg))
        return bad

    def call(self, ctx: Context, first: int = 0, last: int = -1) -> None:
        """Run steps ``first`` to ``last`` (exclusive; -1: to the end) of the segment in
        one compiled call, after :meth:`prepare`."""
        if last < 0:
            last = self._n
        cache = ctx.compiled_args
        entry = cache.get(self)
        dyn = self._dyn(ctx)
        if entry is None or entry[2] != tuple(map(type, dyn)):
            if entry is None:
                if len(cache) >= 16:  # contexts outlive few plans: keep the cache small
                    cache.clear()
                statics = self._statics(ctx)
            else:
                statics = entry[0]
            fn = self.segment.program(statics[0])
            args = (first, last, dyn, statics[1], statics[2], statics[3])
            out = fn(*args)
            cache[self] = (statics, _entry_point(fn, args) or fn, tuple(map(type, dyn)))
        else:
            statics = entry[0]
            out = entry[1](first, last, dyn, statics[1], statics[2], statics[3])
        names = self.segment.returns
        if names:
            for name, value in zip(names, out, strict=True):
                setattr(ctx, name, value)

    def run(self, ctx: Context) -> None:
        """The whole segment: the hooks, then one compiled call."""
        for prep, state, _ in self.prepares:
            prep(ctx, state)
        self.call(ctx)


def _entry_point(dispatcher: Any, args: tuple[Any, ...]) -> Any:
    """The compiled function for ``args``' types, called without the dispatcher's type
    resolution of every argument (microseconds for the default plan's arguments). The
    context's arrays are the same objects from call to call and the values' types are
    checked before each call; None (keep dispatching) if Numba does not expose it."""
    try:
        sig = tuple(dispatcher.typeof_pyval(a) for a in args)
        return dispatcher.overloads[sig].entry_point
    except (AttributeError, KeyError):  # pragma: no cover - depends on Numba internals
        return None


def parts(plan: Sequence[Agent]) -> tuple[Segment | Agent, ...]:
    """``plan`` cut into compiled segments (runs of agents that declare kernel steps)
    and the agents that run in Python between them, in plan order."""
    out: list[Segment | Agent] = []
    run: list[Agent] = []
    for agent in plan:
        if agent.step is None and type(agent).run is Agent.run:
            raise PlanError(f"agent {agent.name!r} declares neither a kernel step nor run()")
        if compiled(agent):
            run.append(agent)
            continue
        if run:
            out.append(Segment(run))
            run = []
        out.append(agent)
    if run:
        out.append(Segment(run))
    return tuple(out)
