"""Usage and cost, aggregated per provider."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

from providers.policy import DEFAULT_PRICES, Price


@dataclass
class ProviderUsage:
    requests: int = 0
    failures: int = 0
    cache_hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    latency: float = 0.0


def usage_tokens(message: Any) -> tuple[int, int]:
    usage = getattr(message, "usage_metadata", None) or {}
    return int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)


class UsageLedger:
    """Thread-safe per-provider totals; shared by a wrapper and every copy bound from it."""

    def __init__(self, prices: dict[str, Price] | None = None) -> None:
        self.prices = {**DEFAULT_PRICES, **(prices or {})}
        self._lock = threading.Lock()
        self._by_provider: dict[str, ProviderUsage] = {}

    def price_of(self, provider: str, model_id: str) -> Price | None:
        return self.prices.get(provider) or self.prices.get(model_id)

    def cost(self, provider: str, model_id: str, tokens_in: int, tokens_out: int) -> float:
        price = self.price_of(provider, model_id)
        if price is None:
            return 0.0
        return (tokens_in * price.input + tokens_out * price.output) / 1_000_000

    def record(self, provider: str, *, ok: bool, cached: bool = False, tokens_in: int = 0,
               tokens_out: int = 0, cost: float = 0.0, latency: float = 0.0) -> None:
        with self._lock:
            row = self._by_provider.setdefault(provider, ProviderUsage())
            if cached:
                row.cache_hits += 1
                return
            row.requests += 1
            row.failures += 0 if ok else 1
            row.input_tokens += tokens_in
            row.output_tokens += tokens_out
            row.cost += cost
            row.latency += latency

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: asdict(row) for name, row in self._by_provider.items()}

    def totals(self) -> dict[str, Any]:
        rows = self.snapshot().values()
        keys = ("requests", "failures", "cache_hits", "input_tokens", "output_tokens", "cost")
        return {key: sum(row[key] for row in rows) for key in keys}
