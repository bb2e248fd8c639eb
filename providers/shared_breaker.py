"""A circuit breaker whose state lives in the shared store: one state per provider for every
process pointing at the same Redis, and one half-open trial cluster-wide.

The same state machine as ``CircuitBreaker``, run atomically in one Lua script on Redis's
clock (processes' own clocks never meet). The half-open trial is a lease held by one
process: if that process dies mid-trial, the lease runs out and another caller gets it.
While Redis cannot be reached, the inherited per-process breaker answers.

A success in the closed state is not sent on its own: it rides along with this process's
next script call, so a healthy call costs one round trip (``allow``), not two. A trial's
success and every failure are sent at once. Successes kept back while another process
opened the breaker are dropped: a call that started before the outage says nothing of now.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from providers.breaker import CircuitBreaker, CircuitState
from providers.errors import ErrorKind
from providers.policy import BreakerPolicy
from providers.shared_store import SharedStore

# KEYS: state hash, events zset, failures zset.  ARGV: op, owner, then the policy.
BREAKER_LUA = """
local h, ev, fl = KEYS[1], KEYS[2], KEYS[3]
local op, owner = ARGV[1], ARGV[2]
local threshold, minimum = tonumber(ARGV[3]), tonumber(ARGV[4])
local window, base, maxopen = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local growth, lease = tonumber(ARGV[8]), tonumber(ARGV[9])
local tripped, retry_after, answered = ARGV[10] == '1', tonumber(ARGV[11]), ARGV[12] == '1'
local successes = tonumber(ARGV[13])
local ttl = math.ceil(2 * (maxopen + window))
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local s = redis.call('HMGET', h, 'state', 'opened_at', 'open_for', 'reopens', 'trial_until',
                     'trial_owner')
local state = s[1] or 'closed'
local opened_at, open_for = tonumber(s[2] or '0'), tonumber(s[3] or '0')
local reopens, trial_until = tonumber(s[4] or '0'), tonumber(s[5] or '0')
local trial_owner = s[6] or ''
local function f(x) return string.format('%.6f', x) end
local function bounded(x) return math.min(math.max(x, 0), maxopen) end
local function open_it(times)
  local period = base * (growth ^ times)
  if retry_after >= 0 then period = math.max(period, retry_after) end
  redis.call('HSET', h, 'state', 'open', 'opened_at', f(now), 'open_for', f(bounded(period)),
             'reopens', times, 'trial_until', 0, 'trial_owner', '')
  redis.call('DEL', ev, fl)
  redis.call('EXPIRE', h, ttl)
end
local function close_it() redis.call('DEL', h, ev, fl) end
local function push(failed, count)
  local last = redis.call('HINCRBY', h, 'seq', count)
  for seq = last - count + 1, last do
    redis.call('ZADD', ev, now, seq)
    if failed then redis.call('ZADD', fl, now, seq) end
  end
  local horizon = '(' .. f(now - window)
  redis.call('ZREMRANGEBYSCORE', ev, '-inf', horizon)
  redis.call('ZREMRANGEBYSCORE', fl, '-inf', horizon)
  redis.call('EXPIRE', h, ttl)
  redis.call('EXPIRE', ev, ttl)
  redis.call('EXPIRE', fl, ttl)
end
if successes > 0 and state == 'closed' then push(false, successes) end
if op == 'allow' then
  if state == 'closed' then return 1 end
  if state == 'open' then
    if now < opened_at + open_for then return 0 end
    state = 'half_open'
    trial_until = 0
    redis.call('HSET', h, 'state', 'half_open', 'trial_until', 0, 'trial_owner', '')
  end
  if trial_until > now then return 0 end
  redis.call('HSET', h, 'trial_until', f(now + lease), 'trial_owner', owner)
  return 2
elseif op == 'success' then
  if state ~= 'closed' then close_it() else push(false, 1) end
elseif op == 'failure' then
  if state == 'half_open' then
    open_it(reopens + 1)
  elseif state == 'open' then
    if retry_after >= 0 then
      redis.call('HSET', h, 'open_for', f(math.max(open_for, bounded(retry_after))))
    end
  else
    push(true, 1)
    if tripped or (redis.call('ZCARD', fl) >= threshold
                   and redis.call('ZCARD', ev) >= minimum) then
      open_it(reopens)
    end
  end
elseif op == 'release' then
  if state == 'half_open' and trial_until > 0 and trial_owner == owner then
    if answered then close_it() else redis.call('HSET', h, 'trial_until', 0) end
  end
elseif op == 'reset' then
  close_it()
elseif op == 'peek' then
  return {state, f(opened_at), f(open_for), reopens, f(now), redis.call('ZCARD', fl),
          redis.call('ZCARD', ev)}
end
return 0
"""


class SharedCircuitBreaker(CircuitBreaker):
    """``CircuitBreaker``'s protocol over the shared store; its own state is the fallback."""

    def __init__(self, name: str, store: SharedStore, policy: BreakerPolicy | None = None
                 ) -> None:
        super().__init__(name, policy)
        self.store = store
        self._keys = [store.key("breaker", name), store.key("breaker", name, "events"),
                      store.key("breaker", name, "failures")]
        # this process: a trial lease taken here may be released only from here
        self._owner = f"{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._successes = 0  # closed-state successes not sent yet
        self._trial = False  # this process holds the half-open trial
        p = self.policy
        self._policy_args = [p.failure_threshold, p.minimum_requests, p.window_seconds,
                             p.open_seconds, p.max_open_seconds, p.growth,
                             p.trial_lease_seconds]

    def _call(self, op: str, *, tripped: bool = False, retry_after: float | None = None,
              answered: bool = False) -> Any:
        with self._lock:
            successes, self._successes = self._successes, 0
        script = self.store.script(BREAKER_LUA)
        return script(keys=self._keys, args=[
            op, self._owner, *self._policy_args, int(tripped),
            -1 if retry_after is None else retry_after, int(answered), successes])

    def _peek(self) -> tuple[CircuitState, float, float, int, float, int, int] | None:
        def remote() -> Any:
            return self._call("peek")

        raw = self.store.run(remote, lambda: None)
        if raw is None:
            return None
        state, opened_at, open_for, reopens, now, failures, requests = raw
        return (CircuitState(state.decode() if isinstance(state, bytes) else state),
                float(opened_at), float(open_for), int(reopens), float(now), int(failures),
                int(requests))

    # -- queries ---------------------------------------------------------------------------
    @property
    def state(self) -> CircuitState:
        peek = self._peek()
        if peek is None:
            return super().state
        state, opened_at, open_for, *_ = peek
        if state is CircuitState.OPEN and peek[4] >= opened_at + open_for:
            return CircuitState.HALF_OPEN
        return state

    def retry_in(self) -> float:
        peek = self._peek()
        if peek is None:
            return super().retry_in()
        state, opened_at, open_for, _, now, *_ = peek
        return max(0.0, opened_at + open_for - now) if state is CircuitState.OPEN else 0.0

    def snapshot(self) -> dict[str, Any]:
        peek = self._peek()
        if peek is None:
            return {**super().snapshot(), "shared": False}
        state, opened_at, open_for, reopens, now, failures, requests = peek
        if state is CircuitState.OPEN and now >= opened_at + open_for:
            state = CircuitState.HALF_OPEN
        return {"provider": self.name, "state": state.value, "failures": failures,
                "requests": requests, "open_for": round(open_for, 3), "reopens": reopens,
                "shared": True}

    # -- the protocol ----------------------------------------------------------------------
    def allow(self) -> bool:
        verdict = self.store.run(lambda: int(self._call("allow")),
                                 lambda: int(super(SharedCircuitBreaker, self).allow()))
        if verdict == 2:
            self._trial = True
        return verdict > 0

    def record_success(self) -> None:
        if self._trial or not self.store.available:
            self._trial = False
            self.store.run(lambda: self._call("success"), super().record_success)
            return
        with self._lock:
            self._successes += 1

    def record_failure(self, kind: ErrorKind = ErrorKind.UNKNOWN,
                       retry_after: float | None = None) -> None:
        tripped = self.trips(kind, retry_after)

        self._trial = False

        def remote() -> Any:
            return self._call("failure", tripped=tripped, retry_after=retry_after)

        self.store.run(remote, lambda: super(SharedCircuitBreaker, self).record_failure(
            kind, retry_after))

    def release(self, *, provider_answered: bool = False) -> None:
        if not self._trial:  # only a trial's release changes the shared state
            if not self.store.available:
                super().release(provider_answered=provider_answered)
            return
        self._trial = False

        def remote() -> Any:
            return self._call("release", answered=provider_answered)

        self.store.run(remote, lambda: super(SharedCircuitBreaker, self).release(
            provider_answered=provider_answered))

    def reset(self) -> None:
        """Close it for every process (and here)."""
        super().reset()
        self.store.run(lambda: self._call("reset"), lambda: None)

