"""The agent's tools. Every one goes through the security policy; a refusal comes back to
the agent as an error message it can act on."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from langchain_core.messages import ToolCall, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool

from localagent.security import PolicyDenied, SecurityPolicy

READ_ONLY = ("list_files", "read_file", "search_code")
MAX_LIST = 200
MAX_MATCHES = 50


def make_tools(policy: SecurityPolicy, names: list[str]) -> list[BaseTool]:
    """The tools named by the role (and allowed in this phase), bound to one policy. They
    keep no state of their own (a proposed edit is the call's artifact), so one set serves
    every branch and turn that shares the policy."""

    def list_files(path: str = ".") -> str:
        """List files under a workspace directory (relative path)."""
        files = list(policy.list_files(path))
        more = f"\n... and {len(files) - MAX_LIST} more" if len(files) > MAX_LIST else ""
        return "\n".join(files[:MAX_LIST]) + more or "(no files)"

    def read_file(path: str) -> str:
        """Read a text file in the workspace (relative path)."""
        return policy.read_text(path)

    def search_code(pattern: str, path: str = ".") -> str:
        """Search workspace files for a regular expression; returns path:line: text."""
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            return f"error: invalid regular expression: {exc}"
        hits: list[str] = []
        for rel in policy.list_files(path):
            try:
                text = policy.read_text(rel)
            except PolicyDenied:
                continue
            for number, line in enumerate(text.splitlines(), 1):
                if regex.search(line):
                    hits.append(f"{rel}:{number}: {line.strip()[:200]}")
                    if len(hits) >= MAX_MATCHES:
                        return "\n".join(hits) + "\n... (more matches cut)"
        return "\n".join(hits) or "no matches"

    def propose_edit(path: str, content: str, reason: str = "") -> tuple[str, dict[str, str]]:
        """Propose the full new content of a workspace file (applied after review)."""
        from localagent.security import FileChange

        policy.check_write([FileChange(path, content)])
        policy.check_message(content, what=f"new content of {path}")
        proposal = {"path": policy.workspace.relative(path), "content": content,
                    "reason": reason}
        return f"proposed a new version of {path} ({len(content.splitlines())} lines)", proposal

    def run_command(command: str) -> str:
        """Run an allowed command in the workspace (no shell, in the OS sandbox); returns the
        exit code and output."""
        result = policy.run(command)
        return f"exit code {result.exit_code}\n{result.output}"

    available = {f.__name__: f for f in (list_files, read_file, search_code, propose_edit,
                                         run_command)}
    return [_tool(available[name]) for name in names if name in available]


# A tool's argument model, made from its signature the first time (the costly part of
# making a tool: every policy's tools have the same signatures).
_SCHEMAS: dict[str, Any] = {}


def _tool(fn: Callable[..., Any]) -> BaseTool:
    response: Literal["content", "content_and_artifact"] = (
        "content_and_artifact" if fn.__name__ == "propose_edit" else "content")
    tool = StructuredTool.from_function(fn, handle_tool_error=True, response_format=response,
                                        args_schema=_SCHEMAS.get(fn.__name__))
    _SCHEMAS.setdefault(fn.__name__, tool.args_schema)
    return tool


def run_tool(tool: BaseTool, call: ToolCall) -> ToolMessage:
    """The reply to one tool call (its artifact: a proposed edit); denials and errors become
    error replies the agent can act on."""
    call_id = call["id"] or call["name"]
    try:
        reply = tool.invoke({**call, "id": call_id, "type": "tool_call"})
    except PolicyDenied as denied:
        return ToolMessage(denied.tool_error(), tool_call_id=call_id, status="error")
    except Exception as exc:  # a bad argument, a missing file: the agent can try again
        return ToolMessage(f"error: {type(exc).__name__}: {exc}", tool_call_id=call_id,
                           status="error")
    if isinstance(reply, ToolMessage):
        return reply
    return ToolMessage(str(reply), tool_call_id=call_id)
