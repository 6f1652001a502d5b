"""A budget ledger shared by a fleet of processes through Redis, with leases.

The design is the banker pattern of RTBkit: a master record per campaign lives in Redis
(budgets, spend today and in total, and the sum of outstanding leases), and each process
takes a *lease*, a slice of the campaign's remaining budget, with an atomic Lua script.
Decisions then hold money against the lease in local memory, without touching the
network. A background thread flushes charges and refills leases before they run dry; a
lease not renewed within ``lease_ttl`` seconds expires, and the next script any process
runs gives its unspent part back to the campaign (so a crashed process's money returns).

Charges are idempotent across the fleet by impression id: the charge script sets a
dedup key per impression id (kept ``dedup_retention`` seconds) and applies the charge
only when the key is new. A charge confirmed by Redis is never lost.

Overspend bound: a process commits money only from its lease, so as long as no lease
expires while its process still uses it, the fleet's spend never exceeds the budget.
A lease that expires while its process is cut off from Redis is given back to the
campaign while the process may still settle holds made on it; those charges are applied
when Redis returns. So each campaign's spend is at most ``budget + sum of the leases
reclaimed from live processes``, at most ``budget + N * lease_micros`` per outage for N
processes (each lease is at most ``lease_micros``). See ``docs/ledger.md``.

Needs the ``redis`` extra (``redis>=5``); it is imported when a ledger is built.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

import msgspec
import numpy as np
from numpy.typing import NDArray

from ..catalog import CatalogSnapshot
from ..errors import InvalidConfig
from .memory import _LocalBooks

__all__ = ["FleetBalance", "RedisLedger"]

_LIB = """
local function now_s()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function s(x) return string.format('%d', x) end
local function num(key, field)
  return tonumber(redis.call('HGET', key, field) or '0')
end
local function reclaim(camp, lease, exp, now)
  local gone = redis.call('ZRANGEBYSCORE', exp, '-inf', now)
  for _, p in ipairs(gone) do
    local amt = tonumber(redis.call('HGET', lease, p) or '0')
    if amt > 0 then
      redis.call('HINCRBY', camp, 'leased', s(-amt))
      redis.call('HINCRBY', camp, 'reclaimed', s(amt))
    end
    redis.call('HDEL', lease, p)
    redis.call('ZREM', exp, p)
  end
end
local function roll(camp, day)
  local cur = tonumber(redis.call('HGET', camp, 'day') or '-1')
  if day > cur then
    redis.call('HSET', camp, 'day', s(day), 'spent_day', '0')
    return day
  end
  return cur
end
"""

# KEYS: camp, lease, exp. ARGV: pid, day (-1 unknown), daily, total (-1 none), target, ttl.
# Reclaims expired leases, then tops this process's lease up to ``target`` as far as the
# campaign's daily and total budgets allow, and renews its expiry.
# Returns {lease, added, spent_day, spent_total, leased}.
ACQUIRE = (
    _LIB
    + """
local camp, lease, exp = KEYS[1], KEYS[2], KEYS[3]
local pid = ARGV[1]
local now = now_s()
reclaim(camp, lease, exp, now)
roll(camp, tonumber(ARGV[2]))
redis.call('HSET', camp, 'daily', ARGV[3], 'total', ARGV[4])
local daily, total, target = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local spent_day, spent_total = num(camp, 'spent_day'), num(camp, 'spent_total')
local leased = num(camp, 'leased')
local cur = tonumber(redis.call('HGET', lease, pid) or '0')
local avail = daily - spent_day - leased
if total >= 0 then avail = math.min(avail, total - spent_total - leased) end
local add = math.min(math.max(target - cur, 0), math.max(avail, 0))
if add > 0 then
  redis.call('HINCRBY', camp, 'leased', s(add))
  cur = cur + add
  leased = leased + add
end
if cur > 0 then
  redis.call('HSET', lease, pid, s(cur))
  redis.call('ZADD', exp, now + tonumber(ARGV[6]), pid)
else
  redis.call('HDEL', lease, pid)
  redis.call('ZREM', exp, pid)
end
return {cur, add, spent_day, spent_total, leased}
"""
)

# KEYS: camp, lease, exp, dedup key per charge. ARGV: pid, day, retention ms, then
# (token, amount) per charge. A charge whose dedup key is new is applied: spend grows,
# this process's lease shrinks by what it covers, the rest is counted as ``uncovered``.
# Returns {lease, status per charge}: 1 applied, 2 applied earlier with the same token
# (a retry), 0 a duplicate of another charge of that impression.
CHARGE = (
    _LIB
    + """
local camp, lease, exp = KEYS[1], KEYS[2], KEYS[3]
local pid, day, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3]
reclaim(camp, lease, exp, now_s())
local rec_day = day
if day >= 0 then rec_day = roll(camp, day) end
local cur = tonumber(redis.call('HGET', lease, pid) or '0')
local out = {0}
local spent, today, covered = 0, 0, 0
for k = 4, #KEYS do
  local j = 4 + 2 * (k - 4)
  local token, amt = ARGV[j], tonumber(ARGV[j + 1])
  if redis.call('SET', KEYS[k], token, 'NX', 'PX', ttl) then
    spent = spent + amt
    if day < 0 or day == rec_day then today = today + amt end
    local from = math.min(amt, cur)
    cur = cur - from
    covered = covered + from
    out[#out + 1] = 1
  elseif redis.call('GET', KEYS[k]) == token then
    out[#out + 1] = 2
  else
    out[#out + 1] = 0
  end
end
if spent > 0 then
  redis.call('HINCRBY', camp, 'spent_total', s(spent))
  redis.call('HINCRBY', camp, 'spent_day', s(today))
  redis.call('HINCRBY', camp, 'leased', s(-covered))
  if spent > covered then redis.call('HINCRBY', camp, 'uncovered', s(spent - covered)) end
  if cur > 0 then
    redis.call('HSET', lease, pid, s(cur))
  else
    redis.call('HDEL', lease, pid)
    redis.call('ZREM', exp, pid)
  end
end
out[1] = cur
return out
"""
)

# KEYS: camp, lease, exp. ARGV: pid, keep. Gives back all of this process's lease above
# ``keep``. Returns {lease, given}.
RETURN = (
    _LIB
    + """
local camp, lease, exp = KEYS[1], KEYS[2], KEYS[3]
local pid, keep = ARGV[1], tonumber(ARGV[2])
reclaim(camp, lease, exp, now_s())
local cur = tonumber(redis.call('HGET', lease, pid) or '0')
local give = math.max(cur - keep, 0)
if give > 0 then
  redis.call('HINCRBY', camp, 'leased', s(-give))
  cur = cur - give
end
if cur > 0 then
  redis.call('HSET', lease, pid, s(cur))
else
  redis.call('HDEL', lease, pid)
  redis.call('ZREM', exp, pid)
end
return {cur, give}
"""
)

# KEYS: camp, lease, exp. Reclaims expired leases, then returns the master record:
# {daily, total, day, spent_day, spent_total, leased, uncovered, reclaimed, live leases}.
READ = (
    _LIB
    + """
local camp, lease, exp = KEYS[1], KEYS[2], KEYS[3]
reclaim(camp, lease, exp, now_s())
local r = {}
for _, f in ipairs({'daily', 'total', 'day', 'spent_day', 'spent_total', 'leased',
                    'uncovered', 'reclaimed'}) do
  r[#r + 1] = tonumber(redis.call('HGET', camp, f) or (f == 'total' and '-1' or '0'))
end
r[#r + 1] = redis.call('HLEN', lease)
return r
"""
)

_CHUNK = 256  # charges per script call


class FleetBalance(msgspec.Struct, frozen=True, kw_only=True):
    """A campaign's master record in Redis, for the whole fleet, in micro-units.

    Parameters
    ----------
    campaign_id : str
    daily_budget, total_budget : int
        ``total_budget`` is -1 when the campaign has no lifetime cap.
    day : int
        The UTC day (days since the epoch) ``spent_today`` counts, -1 before any.
    spent_today, spent_total : int
        Charges applied, deduplicated by impression id.
    leased : int
        Outstanding leases: money processes may still commit or have committed and not
        yet charged.
    uncovered : int
        Charges that arrived without a lease to cover them (their lease had expired).
    reclaimed : int
        Money given back from expired leases, all time.
    leases : int
        How many processes hold a live lease.
    """

    campaign_id: str
    daily_budget: int
    total_budget: int
    day: int
    spent_today: int
    spent_total: int
    leased: int
    uncovered: int
    reclaimed: int
    leases: int


class RedisLedger(_LocalBooks):
    """A ledger whose budgets are shared by many processes through Redis.

    The local arrays (``daily``, ``total``, ``spent_today``, ``spent_total``, ``held``)
    hold this process's view: ``spent_*`` what this process charged, and ``daily``
    (``total`` for a campaign with a lifetime cap) its spend plus the unspent part of its
    lease, so :meth:`hold` and the pacing kernels commit at most the lease, locally.

    Parameters
    ----------
    client_or_url : redis.Redis or str
        A ``redis.Redis`` client (``decode_responses=False``) or a URL for one.
    namespace : str
        Prefix of every key.
    process_id : str or None
        This process's name in the leases; a random one when None. Two live ledgers must
        never share one.
    lease_micros : int or None
        Lease size per campaign; None means 5% of the campaign's daily budget (at least 1).
    lease_ttl : float
        Seconds a lease lives without renewal; it is renewed every ``lease_ttl / 3``.
    refill_below : int or None
        Refill a lease when its uncommitted part falls below this; None means half the
        lease size.
    dedup_retention : float
        Seconds an impression id is remembered across the fleet.
    fail_closed : bool
        When Redis stays unreachable until a lease would expire, stop committing from it
        (True), or keep spending what is left of it as an allowance (False; the
        overspend bound then counts it, see the module docstring).
    sync_interval : float or None
        Seconds between background flushes and refills; None means
        ``min(1, lease_ttl / 5)``.
    socket_timeout : float
        Network timeout of a client built from a URL.
    """

    def __init__(
        self,
        client_or_url: Any,
        *,
        namespace: str = "adcore",
        process_id: str | None = None,
        lease_micros: int | None = None,
        lease_ttl: float = 30.0,
        refill_below: int | None = None,
        dedup_retention: float = 86400.0,
        fail_closed: bool = True,
        sync_interval: float | None = None,
        socket_timeout: float = 2.0,
    ) -> None:
        import redis

        super().__init__()
        interval = min(1.0, lease_ttl / 5.0) if sync_interval is None else sync_interval
        if lease_ttl <= 0 or interval <= 0 or lease_ttl < 3.0 * interval:
            raise InvalidConfig(
                f"need lease_ttl > 0 and 0 < sync_interval <= lease_ttl / 3, got "
                f"lease_ttl={lease_ttl}, sync_interval={interval}",
                "lease_ttl" if lease_ttl <= 0 else "sync_interval",
            )
        if lease_micros is not None and lease_micros < 1:
            raise InvalidConfig(f"lease_micros must be >= 1, got {lease_micros}", "lease_micros")
        if dedup_retention <= 0:
            raise InvalidConfig(
                f"dedup_retention must be > 0, got {dedup_retention}", "dedup_retention"
            )
        self._owns_client = isinstance(client_or_url, str)
        if isinstance(client_or_url, str):
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            # No client-side retries: the background sync retries every sync_interval,
            # and a retrying client would block it for seconds during an outage.
            client_or_url = redis.Redis.from_url(
                client_or_url,
                socket_timeout=socket_timeout,
                socket_connect_timeout=socket_timeout,
                retry=Retry(NoBackoff(), 0),
            )
        self.client = client_or_url
        self.namespace = namespace
        self.process_id = process_id or uuid.uuid4().hex
        self.lease_micros = lease_micros
        self.lease_ttl = float(lease_ttl)
        self.refill_below = refill_below
        self.dedup_retention = float(dedup_retention)
        self.fail_closed = fail_closed
        self.sync_interval = float(interval)
        self.socket_timeout = socket_timeout
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._acquire = self.client.register_script(ACQUIRE)
        self._charge = self.client.register_script(CHARGE)
        self._return = self.client.register_script(RETURN)
        self._read = self.client.register_script(READ)
        self._io = threading.Lock()  # one network conversation at a time
        self._tokens = itertools.count()
        # A random part per ledger object: a ledger restarted under the same process id
        # never issues a token an earlier one issued (its counter starts at 0 again).
        self._token_prefix = f"{self.process_id}:{uuid.uuid4().hex}:"
        self._budget_daily: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._fleet_spent: dict[str, int] = {}
        self._fleet_spent_today: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._budget_total: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._left: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._open: NDArray[np.bool_] = np.zeros(0, dtype=np.bool_)
        self._srv: dict[str, int] = {}  # our lease per campaign as Redis last reported it
        self._unflushed: dict[str, int] = {}  # charged locally, not yet confirmed
        self._deadline: dict[str, float] = {}  # monotonic: stop committing after this
        self._renew_at: dict[str, float] = {}
        self._queue: list[tuple[str, int, str, str, int]] = []  # cid, day, token, iid, amt
        self.connected = False
        self.duplicate_micros = 0
        self.duplicates = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"adcore-ledger-{self.process_id[:8]}", daemon=True
        )
        self._thread.start()

    # ------------------------------------------------------------------ keys
    def _keys(self, cid: str) -> list[str]:
        ns = self.namespace
        return [f"{ns}:camp:{cid}", f"{ns}:lease:{cid}", f"{ns}:exp:{cid}"]

    def _dedup_key(self, impression_id: str) -> str:
        return f"{self.namespace}:imp:{impression_id}"

    def _lease_size(self, i: int) -> int:
        if self.lease_micros is not None:
            return self.lease_micros
        return max(1, int(self._budget_daily[i]) // 20)

    def _refill_level(self, i: int) -> int:
        return self._lease_size(i) // 2 if self.refill_below is None else self.refill_below

    # ------------------------------------------------------------------ local books
    def _refresh(self, i: int) -> None:
        """Recompute row ``i`` of ``daily`` and ``total`` from the lease (lock held)."""
        cid = self._ids[i]
        left = max(0, self._srv.get(cid, 0) - self._unflushed.get(cid, 0))
        self._left[i] = left
        room = left if self._open[i] else 0
        self.daily[i] = self.spent_today[i] + room
        self.total[i] = -1 if self._budget_total[i] < 0 else self.spent_total[i] + room

    def hold(self, campaign_id: str, micros: int) -> bool:
        """Hold ``micros`` on this process's lease if it covers them. Fail closed: a lease
        past its local deadline is closed here, on the decision path (a clock read, no
        I/O), whether or not the background sync has run since."""
        if self.fail_closed:
            now = time.monotonic()
            with self._lock:
                i = self._index.get(campaign_id)
                if i is not None and self._open[i] and now >= self._deadline.get(campaign_id, 0.0):
                    self._open[i] = False
                    self._refresh(i)
        return super().hold(campaign_id, micros)

    def _refresh_all(self) -> None:
        for i in range(len(self._ids)):
            self._refresh(i)

    def bind(self, snapshot: CatalogSnapshot) -> None:
        """Align the books with a catalog snapshot, then take leases for its campaigns
        (one round trip; if Redis is unreachable the background thread keeps trying)."""
        with self._lock:
            self._align(snapshot)  # spend and holds carried over by campaign id
            self._budget_daily, self._budget_total = self.daily, self.total
            nc = snapshot.n_campaigns
            now = time.monotonic()
            self._open = np.array(
                [self._deadline.get(c, 0.0) > now for c in self._ids], dtype=np.bool_
            )
            self._left = np.zeros(nc, dtype=np.int64)
            fleet = self._fleet_spent
            self._fleet_spent_today = np.array([fleet.get(c, 0) for c in self._ids], dtype=np.int64)
            self.daily = np.zeros(nc, dtype=np.int64)
            self.total = np.zeros(nc, dtype=np.int64)
            self._refresh_all()
        self.sync()

    def _day_changed(self) -> None:
        """A new day's local spend (``roll``): recompute what each lease allows. Redis
        rolls its master records when the first charge or refill of the new day
        arrives."""
        self._refresh_all()

    def settle(
        self, campaign_id: str, held: int, charge: int, impression_id: str | None = None
    ) -> int:
        """Release ``held``, record ``charge`` as spend at once and queue it for Redis.

        The charge is capped at what this process's lease still covers after the
        release; the rest is added to :attr:`overdelivered_micros`. The charge reaches
        Redis at the next flush, applied once per ``impression_id`` across the fleet
        (without an id, once per call). When another process already charged that
        impression, the flush takes the local spend back and counts it in
        :attr:`duplicates` / :attr:`duplicate_micros`.
        """
        with self._lock:
            self._release(campaign_id, held)
            i = self._index.get(campaign_id)
            if i is None:
                r = self._retired.setdefault(campaign_id, [0, 0, 0])
                r[0] += charge
                r[1] += charge
                charged = charge
            else:
                free = int(self._left[i]) - int(self.held[i])
                charged = min(charge, free) if free > 0 else 0
                self.spent_today[i] += charged
                self.spent_total[i] += charged
                self.overdelivered_micros += charge - charged
                self._unflushed[campaign_id] = self._unflushed.get(campaign_id, 0) + charged
                self._refresh(i)
            if charged > 0:
                token = self._token_prefix + str(next(self._tokens))
                day = -1 if self._day is None else self._day
                self._queue.append((campaign_id, day, token, impression_id or token, charged))
            return charged

    # ------------------------------------------------------------------ network
    def sync(self) -> bool:
        """Flush queued charges, refill and renew leases now (also run in the background
        every ``sync_interval``). Returns whether Redis answered."""
        with self._io:
            try:
                self._flush()
                self._refill()
                self.connected = True
            except self._errors:
                self.connected = False
            self._expire()
            return self.connected

    def _flush(self) -> None:
        with self._lock:
            batch, self._queue = self._queue, []
        if not batch:
            return
        groups: dict[tuple[str, int], list[tuple[str, int, str, str, int]]] = {}
        for item in batch:
            groups.setdefault((item[0], item[1]), []).append(item)
        calls: list[list[tuple[str, int, str, str, int]]] = []
        pipe = self.client.pipeline(transaction=False)
        ms = str(max(1, int(self.dedup_retention * 1000)))
        for (cid, day), items in groups.items():
            for k in range(0, len(items), _CHUNK):
                part = items[k : k + _CHUNK]
                keys = self._keys(cid) + [self._dedup_key(it[3]) for it in part]
                args: list[str | int] = [self.process_id, day, ms]
                for it in part:
                    args += [it[2], it[4]]
                self._charge(keys=keys, args=args, client=pipe)
                calls.append(part)
        try:
            results = pipe.execute()
        except BaseException:
            with self._lock:
                self._queue[:0] = batch  # retried with the same tokens: applied at most once
            raise
        with self._lock:
            for part, res in zip(calls, results, strict=True):
                cid = part[0][0]
                self._srv[cid] = int(res[0])
                for it, status in zip(part, res[1:], strict=True):
                    amt = it[4]
                    self._unflushed[cid] = self._unflushed.get(cid, 0) - amt
                    if int(status) == 0:
                        self._take_back(cid, it[1], amt)
            for cid in {p[0][0] for p in calls}:
                i = self._index.get(cid)
                if i is not None:
                    self._refresh(i)

    def _take_back(self, cid: str, day: int, amt: int) -> None:
        """Undo the local spend of a charge Redis found to be a duplicate (lock held)."""
        self.duplicates += 1
        self.duplicate_micros += amt
        today = day == (-1 if self._day is None else self._day)
        i = self._index.get(cid)
        if i is not None:
            self.spent_total[i] -= amt
            if today:
                self.spent_today[i] -= amt
        elif cid in self._retired:
            r = self._retired[cid]
            r[1] -= amt
            if today:
                r[0] -= amt

    def _refill(self) -> None:
        now = time.monotonic()
        todo: list[tuple[str, int]] = []
        give_back: list[tuple[str, int]] = []
        with self._lock:
            day = -1 if self._day is None else self._day
            for i, cid in enumerate(self._ids):
                free = int(self._left[i]) - int(self.held[i])
                if (
                    not self._open[i]
                    or free < self._refill_level(i)
                    or now >= self._renew_at.get(cid, 0.0)
                ):
                    todo.append((cid, i))
            for cid, lease in self._srv.items():
                if lease > 0 and cid not in self._index:
                    give_back.append((cid, self._unflushed.get(cid, 0)))
            daily = self._budget_daily.copy()
            total = self._budget_total.copy()
            sizes = [self._lease_size(i) for _, i in todo]
        if not todo and not give_back:
            return
        pipe = self.client.pipeline(transaction=False)
        for (cid, i), size in zip(todo, sizes, strict=True):
            args = [self.process_id, day, int(daily[i]), int(total[i]), size, self.lease_ttl]
            self._acquire(keys=self._keys(cid), args=args, client=pipe)
        for cid, keep in give_back:
            self._return(keys=self._keys(cid), args=[self.process_id, keep], client=pipe)
        results = pipe.execute()
        with self._lock:
            deadline = now + self.lease_ttl - 2.0 * self.sync_interval
            for (cid, _), res in zip(todo, results, strict=False):
                self._srv[cid] = int(res[0])
                self._fleet_spent[cid] = int(res[2])  # the fleet's spend today
                self._deadline[cid] = deadline
                self._renew_at[cid] = now + self.lease_ttl / 3.0
                j = self._index.get(cid)
                if j is not None:
                    self._open[j] = True
                    self._refresh(j)
            for (cid, _), res in zip(give_back, results[len(todo) :], strict=True):
                self._srv[cid] = int(res[0])

    def _expire(self) -> None:
        """Stop committing from leases past their local deadline (fail closed)."""
        if not self.fail_closed:
            return
        now = time.monotonic()
        with self._lock:
            for i, cid in enumerate(self._ids):
                if self._open[i] and now >= self._deadline.get(cid, 0.0):
                    self._open[i] = False
                    self._refresh(i)

    def _run(self) -> None:
        while not self._stop.wait(self.sync_interval):
            self.sync()

    # ------------------------------------------------------------------ inspection
    def pacing_view(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """What the pacing controllers pace against: each campaign's whole daily budget,
        the fleet's spend today (as of this process's last lease refill or renewal, at
        most ``lease_ttl / 3`` old, and never less than this process's own spend) and
        this process's holds. The lease only caps what this process may commit."""
        with self._lock:
            for i, cid in enumerate(self._ids):
                self._fleet_spent_today[i] = max(
                    self._fleet_spent.get(cid, 0), int(self.spent_today[i])
                )
            return self._budget_daily, self._fleet_spent_today, self.held

    def lease(self, campaign_id: str) -> int:
        """What this process may still commit on the campaign (its lease less holds and
        unflushed charges); 0 once the lease is closed. KeyError if unknown."""
        with self._lock:
            i = self._index[campaign_id]
            if not self._open[i]:
                return 0
            return max(0, int(self._left[i]) - int(self.held[i]))

    def pending_charges(self) -> int:
        """How many charges are queued, not yet confirmed by Redis."""
        with self._lock:
            return len(self._queue)

    def fleet_balance(self, campaign_id: str) -> FleetBalance:
        """The campaign's master record in Redis (one round trip; expired leases are
        reclaimed first). Raises a ``redis`` error when Redis is unreachable."""
        r = [int(x) for x in self._read(keys=self._keys(campaign_id), args=[])]
        return FleetBalance(
            campaign_id=campaign_id,
            daily_budget=r[0],
            total_budget=r[1],
            day=r[2],
            spent_today=r[3],
            spent_total=r[4],
            leased=r[5],
            uncovered=r[6],
            reclaimed=r[7],
            leases=r[8],
        )

    def fleet_balances(self, campaign_ids: Iterable[str] | None = None) -> dict[str, FleetBalance]:
        """:meth:`fleet_balance` of several campaigns (default: the bound catalog's)."""
        ids = self._ids if campaign_ids is None else tuple(campaign_ids)
        return {cid: self.fleet_balance(cid) for cid in ids}

    def close(self, timeout: float | None = None) -> int:
        """Stop the background thread, flush queued charges and give back every unused
        lease. Returns how many charges could not be flushed (0 when Redis answered);
        their leases stay outstanding to cover them until they expire. A client built
        from a URL is closed; one passed in is left open. The ledger keeps its local
        books for inspection but must not be used to hold or settle afterwards."""
        self._stop.set()
        self._thread.join(timeout)
        with self._io:
            try:
                self._flush()
                with self._lock:
                    keep = {cid: self._unflushed.get(cid, 0) for cid in self._srv}
                    for i in range(len(self._ids)):
                        self._open[i] = False
                        self._refresh(i)
                pipe = self.client.pipeline(transaction=False)
                for cid, k in keep.items():
                    self._return(keys=self._keys(cid), args=[self.process_id, k], client=pipe)
                for cid, res in zip(keep, pipe.execute(), strict=True):
                    self._srv[cid] = int(res[0])
                self.connected = True
            except self._errors:
                self.connected = False
            if self._owns_client:
                self.client.close()
        return self.pending_charges()

    def __enter__(self) -> RedisLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
