"""The one error every policy check raises: an agent gets it back as a tool error."""

from __future__ import annotations


class PolicyDenied(Exception):
    """An action the security policy refused, with the reason and what to do instead."""

    def __init__(self, kind: str, reason: str, *, target: str = "", hint: str = "") -> None:
        self.kind = kind
        self.reason = reason
        self.target = target
        self.hint = hint
        super().__init__(self.tool_error())

    def tool_error(self) -> str:
        """The text handed back to the agent in place of the tool's result."""
        text = f"denied ({self.kind}): {self.reason}"
        return f"{text}. {self.hint}" if self.hint else text
