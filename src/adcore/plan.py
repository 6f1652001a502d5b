"""The agent plan: an order computed once from what each agent reads and writes.

Agent B runs after agent A when B reads a field that A writes (A is not B), or a field
B reads only if some agent writes it (``reads_if_written``: the engine's per-request
default otherwise). Among agents
free to run, the default order (privacy, fraud, audience, inventory, safety, relevance,
bidding, pacing, creative, auction) decides, then the order agents were given in. A
cycle, a field nobody writes, an unknown field name or a duplicate agent name is a
:class:`~adcore.errors.PlanError` when the engine is built, never on a request.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from .agents import DEFAULT_ORDER, Agent
from .context import FIELDS, INPUTS
from .errors import PlanError

__all__ = ["build_plan"]


def build_plan(agents: Sequence[Agent]) -> tuple[Agent, ...]:
    """Order ``agents`` so every field is written before it is read.

    Examples
    --------
    >>> from adcore.agents import default_agents
    >>> plan = build_plan(list(reversed(default_agents())))
    >>> [a.name for a in plan]  # doctest: +NORMALIZE_WHITESPACE
    ['privacy', 'fraud', 'audience', 'inventory', 'safety', 'relevance', 'bidding',
     'pacing', 'creative', 'auction']
    """
    names: dict[str, int] = {}
    for i, agent in enumerate(agents):
        name = getattr(agent, "name", None)
        if not isinstance(name, str) or not name:
            raise PlanError(f"agent #{i} ({agent!r}) has no name")
        if name in names:
            raise PlanError(f"two agents are named {name!r}")
        names[name] = i
        for kind in ("reads", "writes", "reads_if_written"):
            fields = getattr(agent, kind, None)
            if not isinstance(fields, frozenset):
                raise PlanError(f"agent {name!r} must declare {kind} as a frozenset")
            unknown = set(fields) - FIELDS
            if unknown:
                raise PlanError(
                    f"agent {name!r} {kind} unknown fields {sorted(unknown)}; "
                    f"known: {sorted(FIELDS)}"
                )
        if agent.writes & INPUTS:
            raise PlanError(
                f"agent {name!r} writes {sorted(agent.writes & INPUTS)}, which "
                "only the engine fills"
            )

    writers: dict[str, list[int]] = {}
    for i, agent in enumerate(agents):
        for f in agent.writes:
            writers.setdefault(f, []).append(i)
    after: list[set[int]] = [set() for _ in agents]  # after[b] = agents b waits for
    for b, agent in enumerate(agents):
        for f in agent.reads:
            if f in INPUTS:
                continue
            producers = [a for a in writers.get(f, []) if a != b]
            if not producers:
                raise PlanError(f"agent {agent.name!r} reads {f!r}, which no other agent writes")
            after[b].update(producers)
        for f in agent.reads_if_written:  # ordering only: the engine's default otherwise
            after[b].update(a for a in writers.get(f, []) if a != b)

    rank = {name: r for r, name in enumerate(DEFAULT_ORDER)}

    def key(i: int) -> tuple[int, int]:
        return (rank.get(agents[i].name, len(rank)), i)

    waiting = [len(a) for a in after]
    feeds: list[list[int]] = [[] for _ in agents]
    for b, deps in enumerate(after):
        for a in deps:
            feeds[a].append(b)
    ready = [key(i) for i, w in enumerate(waiting) if w == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        _, i = heapq.heappop(ready)
        order.append(i)
        for b in feeds[i]:
            waiting[b] -= 1
            if waiting[b] == 0:
                heapq.heappush(ready, key(b))
    if len(order) != len(agents):
        stuck = sorted(agents[i].name for i, w in enumerate(waiting) if w > 0)
        raise PlanError(f"the agents' reads and writes form a cycle among {stuck}")
    return tuple(agents[i] for i in order)
