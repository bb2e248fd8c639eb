"""What a run used, summed from its activity records: model calls, tokens and cost per
provider, tool calls, commands, and seconds per phase. Read by the report node and the CLI;
a pure function of the state, no I/O."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from graph.phases import EXECUTE, RESEARCH, phase_names

BRANCH_PHASES = (RESEARCH.name, EXECUTE.name)


def _wall_seconds(branches: list[dict[str, Any]]) -> float:
    """The time at least one of these branches was working (parallel ones overlap)."""
    spans = sorted((b["ended_at"] - b["seconds"], b["ended_at"]) for b in branches
                   if b.get("ended_at") is not None)
    total, reach = 0.0, float("-inf")
    for begin, end in spans:
        if end > reach:
            total += end - max(begin, reach)
            reach = end
    return round(total, 3)


def phase_seconds(activity: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds per phase, summed over the run's loops; the branch phases count the time
    their branches ran."""
    seconds: dict[str, float] = defaultdict(float)
    for item in activity:
        if item.get("kind") == "timing":
            seconds[item["phase"]] += float(item.get("seconds") or 0)
    for name in BRANCH_PHASES:
        branches = [e for e in activity if e.get("kind") == "branch" and e["phase"] == name]
        if branches:
            seconds[name] = _wall_seconds(branches)
    order = phase_names()
    ordered = sorted(seconds, key=lambda n: order.index(n) if n in order else 99)
    return {name: round(seconds[name], 3) for name in ordered}


def usage(activity: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's totals (the report's ``usage`` and the CLI's ``--format json`` summary)."""
    calls = [e for e in activity if e.get("kind") == "model_call"]
    by_provider: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    by_phase: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for call in calls:
        totals = by_provider[str(call.get("provider"))]
        totals["calls"] += 1
        for key in ("input_tokens", "output_tokens", "cost"):
            totals[key] += float(call.get(key) or 0)
        by_phase[str(call.get("phase"))][str(call.get("provider"))] += 1
    return {"model_calls": len(calls),
            "input_tokens": int(sum(c.get("input_tokens") or 0 for c in calls)),
            "output_tokens": int(sum(c.get("output_tokens") or 0 for c in calls)),
            "cost": round(sum(float(c.get("cost") or 0) for c in calls), 6),
            "by_provider": {k: dict(v) for k, v in by_provider.items()},
            "models_by_phase": {k: dict(v) for k, v in by_phase.items()},
            "tool_calls": sum(1 for e in activity if e.get("kind") == "tool_call"),
            "commands": [e for e in activity if e.get("kind") == "command"],
            "phase_seconds": phase_seconds(activity)}
