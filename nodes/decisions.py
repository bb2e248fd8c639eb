"""What a human answered to an interrupt: ``True``/``False``, feedback text, or a dict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

YES = {"y", "yes", "ok", "approve", "approved", "accept", "true", "go"}
NO = {"n", "no", "reject", "rejected", "false", "stop", "cancel"}


@dataclass
class Decision:
    approved: bool
    feedback: str = ""
    edits: Any = None


def parse_decision(value: Any) -> Decision:
    """Accept what Studio, the SDK and the CLI send."""
    if isinstance(value, bool):
        return Decision(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in YES:
            return Decision(True)
        if text.lower() in NO or not text:
            return Decision(False)
        return Decision(False, feedback=text)
    if isinstance(value, dict):
        feedback = str(value.get("feedback") or "").strip()
        approved = value.get("approved")
        if approved is None:
            approved = not feedback
        return Decision(bool(approved), feedback, value.get("edits"))
    return Decision(False, feedback="" if value is None else str(value))
