"""The workflow's phases, each defined once: its number (what ``workflow.phases`` and
``--phases`` list), its name (progress events, timings, the report, the progress view), the
prompt it asks its model with, and whether a run may leave it out.

A contract every layer reads (the node decorator, the routing functions, the config check,
the CLI); it imports nothing of ours and does no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Phase:
    number: int
    name: str
    prompt: str = ""  # the bundled prompt (``prompts/<prompt>.md``); "" asks no model
    can_disable: bool = True  # False: a step of its number's phase, never left out alone


SCOPE = Phase(0, "scope", "phases/scope")
RESEARCH = Phase(1, "research", "phases/research")
PLAN = Phase(2, "plan", "phases/plan")
CONTEXT = Phase(3, "context")
EXECUTE = Phase(4, "execute", "phases/execute")
INTEGRATE = Phase(5, "integrate")
APPLY = Phase(5, "apply", can_disable=False)  # integrate's write, after the approval
VALIDATE = Phase(6, "validate")
AUDIT = Phase(7, "audit", "phases/audit")
DOCUMENT = Phase(8, "document", "phases/document")
READINESS = Phase(9, "readiness", "phases/readiness")

# In the order a run goes through them.
PHASES: tuple[Phase, ...] = (SCOPE, RESEARCH, PLAN, CONTEXT, EXECUTE, INTEGRATE, APPLY,
                             VALIDATE, AUDIT, DOCUMENT, READINESS)


def phase_names() -> list[str]:
    """Every phase's name, in run order (steps such as ``apply`` included)."""
    return [p.name for p in PHASES]


def phase_numbers() -> list[int]:
    """The numbers a run may select: all phases run by default."""
    return sorted({p.number for p in PHASES if p.can_disable})


def _ends() -> tuple[Phase, Phase]:
    selectable = sorted((p for p in PHASES if p.can_disable), key=lambda p: p.number)
    return selectable[0], selectable[-1]


def numbering(*, named: bool = False) -> str:
    """How the numbers read: ``0..9``, or named, ``0 (scope) .. 9 (readiness)``."""
    first, last = _ends()
    if named:
        return f"{first.number} ({first.name}) .. {last.number} ({last.name})"
    return f"{first.number}..{last.number}"


def unknown_numbers(numbers: Iterable[int]) -> list[int]:
    """Those of ``numbers`` that name no phase."""
    known = set(phase_numbers())
    return [n for n in numbers if n not in known]
