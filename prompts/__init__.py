"""Agent roles and phase prompts, stored as markdown files with YAML frontmatter."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
_SLOT = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
ROLE_DIR = ".localagent/agents"


class PromptError(ValueError):
    """A prompt file is missing or its frontmatter is invalid."""


@dataclass(frozen=True)
class Prompt:
    name: str
    body: str
    meta: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    @property
    def tools(self) -> list[str]:
        return list(self.meta.get("tools") or [])

    @property
    def model(self) -> str | None:
        return self.meta.get("model")

    def render(self, **values: Any) -> str:
        """Fill ``{{slot}}`` placeholders; lists become bullets, mappings JSON."""
        def fill(match: re.Match[str]) -> str:
            value = values.get(match.group(1), "")
            if isinstance(value, list | tuple):
                return "\n".join(f"- {item}" for item in value) or "(none)"
            if isinstance(value, dict):
                return json.dumps(value, indent=1, default=str)
            return str(value)

        return _SLOT.sub(fill, self.body).strip()


def parse(text: str, name: str, source: str) -> Prompt:
    import yaml

    meta: dict[str, Any] = {}
    body = text
    if text.startswith("---"):
        _, _, rest = text.partition("\n")
        head, sep, body = rest.partition("\n---")
        if not sep:
            raise PromptError(f"{source}: frontmatter is not closed with '---'")
        try:
            meta = yaml.safe_load(head) or {}
        except yaml.YAMLError as exc:
            raise PromptError(f"{source}: invalid frontmatter: {exc}") from None
        if not isinstance(meta, dict):
            raise PromptError(f"{source}: frontmatter must be a mapping")
        body = body.partition("\n")[2]
    return Prompt(str(meta.get("name", name)), body, meta, source)


@cache
def load_prompt(name: str) -> Prompt:
    """A bundled prompt, e.g. ``load_prompt("phases/plan")``."""
    path = HERE / f"{name}.md"
    if not path.is_file():
        raise PromptError(f"no prompt named {name!r} (looked for {path})")
    return parse(path.read_text(encoding="utf-8"), path.stem, str(path))


def roles(workspace: str | Path | None = None) -> dict[str, Prompt]:
    """Bundled agent roles, overridden or extended by ``<workspace>/.localagent/agents``."""
    bundled = sorted((HERE / "agents").glob("*.md"))
    found = {path.stem: load_prompt(f"agents/{path.stem}") for path in bundled}
    if workspace is not None:
        for path in sorted((Path(workspace) / ROLE_DIR).glob("*.md")):
            found[path.stem] = parse(path.read_text(encoding="utf-8"), path.stem, str(path))
    return found


def load_role(role: str, workspace: str | Path | None = None) -> Prompt:
    """The role's prompt; an unknown role falls back to the closest general one."""
    available = roles(workspace)
    return available.get(role) or available["backend-engineer"]
