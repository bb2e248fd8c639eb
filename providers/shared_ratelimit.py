"""Rate limits shared through the shared store: one global rpm/tpm budget per provider for
every process pointing at the same Redis.

The same debt-based buckets as ``RateLimiter``, reserved atomically in one Lua script on
Redis's clock. A reservation is told how long to wait until the debt ahead of it has
refilled, so callers are served in the order their reservations reached Redis, whichever
process they are in: no process starves. While Redis cannot be reached, the inherited
per-process limiter answers.

A correction of a call's token estimate rides along with this process's next script call
(a healthy call costs one round trip, its reservation): the budget learns of it one call
later, never not at all while the process keeps calling.
"""

from __future__ import annotations

from typing import Any

from providers.policy import LimitPolicy
from providers.ratelimit import RateLimiter, Reservation
from providers.shared_store import SharedStore

IDLE_SECONDS = 3600  # a provider's buckets are forgotten after an hour without requests

# KEYS: the buckets' hash.  ARGV: op, request rate/s, request capacity, token rate/s, token
# capacity (rates 0: no such limit), a, b (reserve: tokens, max wait; refund: requests,
# tokens), idle expiry, tokens used beyond earlier estimates.  Returns {admitted, wait,
# token cost} as strings.
LIMIT_LUA = """
local h, op = KEYS[1], ARGV[1]
local rr, rc, tr, tc = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local a, b = tonumber(ARGV[6]), tonumber(ARGV[7])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local v = redis.call('HMGET', h, 'rl', 'rs', 'tl', 'ts')
local rl, rs = tonumber(v[1] or rc), tonumber(v[2] or now)
local tl, ts = tonumber(v[3] or tc), tonumber(v[4] or now)
if rr > 0 and now > rs then rl = math.min(rc, rl + (now - rs) * rr); rs = now end
if tr > 0 and now > ts then tl = math.min(tc, tl + (now - ts) * tr); ts = now end
tl = tl - tonumber(ARGV[9])
local function f(x) return string.format('%.6f', x) end
local function save()
  redis.call('HSET', h, 'rl', f(rl), 'rs', f(rs), 'tl', f(tl), 'ts', f(ts))
  redis.call('EXPIRE', h, ARGV[8])
end
if op == 'refund' then
  rl = rl + a; tl = tl + b; save(); return {'1', '0', '0'}
end
local wait, cost = 0, 0
if rr > 0 and rl - 1 < 0 then wait = (1 - rl) / rr end
if tr > 0 then
  cost = math.min(a, tc)
  if tl - cost < 0 then wait = math.max(wait, (cost - tl) / tr) end
end
if op == 'expected' or wait > b then
  if tonumber(ARGV[9]) ~= 0 then save() end
  return {'0', f(wait), f(cost)}
end
if rr > 0 then rl = rl - 1 end
if tr > 0 then tl = tl - cost end
save()
return {'1', f(wait), f(cost)}
"""


class SharedRateLimiter(RateLimiter):
    """``RateLimiter``'s protocol over the shared store; its own buckets are the fallback."""

    def __init__(self, name: str, store: SharedStore, policy: LimitPolicy) -> None:
        super().__init__(policy)
        self.name = name
        self.store = store
        self._key = store.key("limits", name)
        rpm_rate = (policy.rpm or 0) / 60.0
        burst = policy.request_burst or max(1.0, rpm_rate)
        tpm = policy.tpm or 0
        self._rates = [rpm_rate, burst if policy.rpm else 0, tpm / 60.0, tpm]
        self._extra_tokens = 0.0  # corrections not sent yet

    def _call(self, op: str, a: float, b: float) -> tuple[bool, float, float]:
        with self._lock:
            extra, self._extra_tokens = self._extra_tokens, 0.0
        script = self.store.script(LIMIT_LUA)
        admitted, wait, cost = script(keys=[self._key],
                                      args=[op, *self._rates, a, b, IDLE_SECONDS, extra])
        return admitted in (b"1", "1"), float(wait), float(cost)

    def reserve(self, tokens: float, max_wait: float | None = None) -> Reservation | None:
        bound = self.policy.max_wait_seconds if max_wait is None else max_wait

        def remote() -> Reservation | None:
            admitted, wait, cost = self._call("reserve", float(tokens), bound)
            if not admitted:
                return None
            return Reservation(wait=wait, requests=1.0 if self.policy.rpm else 0.0,
                               tokens=cost, shared=True)

        return self.store.run(remote, lambda: super(SharedRateLimiter, self).reserve(
            tokens, max_wait))

    def refund(self, reservation: Reservation) -> None:
        if not reservation.shared:
            super().refund(reservation)
            return
        # a shared debit is given back to the shared budget, or (Redis gone) not at all
        self.store.run(lambda: self._call("refund", reservation.requests, reservation.tokens),
                       lambda: None)

    def correct(self, reservation: Reservation, actual_tokens: float) -> None:
        if not self.policy.tpm:
            return
        if not reservation.shared:
            super().correct(reservation, actual_tokens)
            return
        with self._lock:
            self._extra_tokens += actual_tokens - reservation.tokens

    def expected_wait(self, tokens: float = 0.0) -> float:
        def remote() -> float:
            return self._call("expected", float(tokens), 0.0)[1]

        return self.store.run(remote, lambda: super(SharedRateLimiter, self).expected_wait(
            tokens))

    def snapshot(self) -> dict[str, Any]:
        """The shared buckets' levels (for status displays)."""
        raw = self.store.run(lambda: self.store.client.hgetall(self._key), dict)
        return {k.decode() if isinstance(k, bytes) else k: float(v) for k, v in raw.items()}

