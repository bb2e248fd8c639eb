"""Eval results: one record per (task, run, mode), kept in a JSON file rewritten atomically
after each record; the summary (pass rate with a 95% Wilson interval, tokens, cost, model
calls, wall time, failures by phase), the markdown report, and comparing two results."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

VERSION = 1


def wilson(passed: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a pass rate (0..1); (0, 1) with no tasks."""
    if total == 0:
        return 0.0, 1.0
    p = passed / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def key(record: dict[str, Any]) -> str:
    return f"{record['mode']}/{record['task']}/{record['run']}"


def load(path: Path) -> dict[str, Any]:
    """A results file, checked enough to say clearly what is wrong with it."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such results file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable results file: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise ValueError(f"{path}: not an eval results file (no 'results' list)")
    return doc


def save(path: Path, doc: dict[str, Any]) -> None:
    from localagent.atomic import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")


def summarize(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per mode (workflow, direct): the numbers of the summary table."""
    out: dict[str, dict[str, Any]] = {}
    for mode in sorted({r["mode"] for r in records}, key=lambda m: (m != "workflow", m)):
        rows = [r for r in records if r["mode"] == mode]
        scored = [r for r in rows if r["outcome"] != "error"]
        passed = sum(r["outcome"] == "passed" for r in scored)
        low, high = wilson(passed, len(scored))
        n = max(len(scored), 1)
        out[mode] = {
            "tasks": len(rows), "scored": len(scored), "passed": passed,
            "errors": len(rows) - len(scored),
            "pass_rate": passed / len(scored) if scored else 0.0, "ci95": [low, high],
            "input_tokens": sum(r["input_tokens"] for r in rows),
            "output_tokens": sum(r["output_tokens"] for r in rows),
            "cost": round(sum(r["cost"] for r in rows), 6),
            "model_calls": sum(r["model_calls"] for r in rows),
            "seconds_per_task": round(sum(r["seconds"] for r in scored) / n, 2),
            "edited_tests": sum(bool(r.get("edited_tests")) for r in rows),
            "failures_by_phase": dict(Counter(
                r.get("phase") or "?" for r in rows if r["outcome"] != "passed")),
        }
    return out


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def summary_rows(summary: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = [["mode", "passed", "pass rate (95% CI)", "tokens in/out", "cost", "model calls",
             "s/task", "errors", "failures by phase"]]
    for mode, s in summary.items():
        low, high = s["ci95"]
        phases = ", ".join(f"{k} {v}" for k, v in sorted(s["failures_by_phase"].items()))
        rows.append([mode, f"{s['passed']}/{s['scored']}",
                     f"{_pct(s['pass_rate'])} ({_pct(low)}-{_pct(high)})",
                     f"{s['input_tokens']}/{s['output_tokens']}", f"${s['cost']:.4f}",
                     str(s["model_calls"]), f"{s['seconds_per_task']:.1f}", str(s["errors"]),
                     phases or "-"])
    return rows


def _table(rows: list[list[str]]) -> str:
    head, *body = rows
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
    return "\n".join(lines)


def markdown(doc: dict[str, Any]) -> str:
    """The report: what ran, the summary table, then every task's result."""
    records = doc["results"]
    lines = [f"# Eval: {doc.get('suite')} on {doc.get('provider') or 'the default provider'}",
             "", f"- started {doc.get('started')}, {len(records)} results",
             f"- command: `{doc.get('command', '')}`", "",
             _table(summary_rows(summarize(records))), "", "## Tasks", ""]
    rows = [["task", "run", "mode", "outcome", "phase", "reason", "tokens in/out", "s",
             "edited tests"]]
    for r in sorted(records, key=lambda r: (r["task"], r["run"], r["mode"])):
        rows.append([r["task"], str(r["run"]), r["mode"], r["outcome"], r.get("phase") or "",
                     (r.get("reason") or "")[:120].replace("\n", " "),
                     f"{r['input_tokens']}/{r['output_tokens']}", f"{r['seconds']:.1f}",
                     ", ".join(r.get("edited_tests") or [])])
    lines.append(_table(rows))
    return "\n".join(lines) + "\n"


def compare(a: dict[str, Any], b: dict[str, Any]) -> tuple[list[list[str]], list[list[str]]]:
    """Per (mode, task): the pass count in A and in B, for the tasks whose result differs;
    and the two summaries side by side."""
    def counts(doc: dict[str, Any]) -> dict[tuple[str, str], tuple[int, int]]:
        out: dict[tuple[str, str], list[int]] = {}
        for r in doc["results"]:
            if r["outcome"] == "error":
                continue
            c = out.setdefault((r["mode"], r["task"]), [0, 0])
            c[0] += r["outcome"] == "passed"
            c[1] += 1
        return {k: (v[0], v[1]) for k, v in out.items()}

    left, right = counts(a), counts(b)
    diffs = [["mode", "task", "A", "B", "change"]]
    for k in sorted(set(left) | set(right)):
        pa, pb = left.get(k), right.get(k)
        if pa == pb:
            continue
        ra = pa[0] / pa[1] if pa else None
        rb = pb[0] / pb[1] if pb else None
        change = ("only in B" if pa is None else "only in A" if pb is None else
                  "better" if (rb or 0) > (ra or 0) else "worse" if (rb or 0) < (ra or 0)
                  else "same rate")
        diffs.append([k[0], k[1], f"{pa[0]}/{pa[1]}" if pa else "-",
                      f"{pb[0]}/{pb[1]}" if pb else "-", change])
    sa, sb = summarize(a["results"]), summarize(b["results"])
    side = [["mode", "A passed", "B passed", "A rate", "B rate", "A tokens", "B tokens"]]
    for mode in sorted(set(sa) | set(sb)):
        x, y = sa.get(mode), sb.get(mode)
        side.append([mode, f"{x['passed']}/{x['scored']}" if x else "-",
                     f"{y['passed']}/{y['scored']}" if y else "-",
                     _pct(x["pass_rate"]) if x else "-", _pct(y["pass_rate"]) if y else "-",
                     str(x["input_tokens"] + x["output_tokens"]) if x else "-",
                     str(y["input_tokens"] + y["output_tokens"]) if y else "-"])
    return diffs, side


def rich_table(rows: list[list[str]], title: str = "") -> Any:
    from rich.table import Table

    table = Table(title=title or None)
    for name in rows[0]:
        table.add_column(name)
    for row in rows[1:]:
        table.add_row(*row)
    return table
