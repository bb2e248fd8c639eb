"""What an eval task is: the check, the task file's fields, the task ready to run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

TASK_FILE = "task.yaml"
DEFAULT_PROTECT = ("tests/**", "test/**", "**/test_*.py", "test_*.py", "**/*_test.py",
                   "*_test.py", "**/*.test.js", "*.test.js", "conftest.py", "**/conftest.py")
IGNORED = (".git", ".localagent", "__pycache__", ".pytest_cache", "node_modules", ".venv")


class SuiteError(ValueError):
    """A suite or task file that cannot be used; the message names the file and the field."""


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid")

    command: str = Field(min_length=1)
    files: str | None = None
    protect: list[str] = Field(default_factory=lambda: list(DEFAULT_PROTECT))
    timeout: float = Field(default=120, gt=0)


class TaskSpec(BaseModel):
    """What a ``task.yaml`` holds (unknown keys are an error: a typo must not go unnoticed)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    request: str = Field(min_length=1)
    workspace: str = "workspace"
    setup: list[str] = Field(default_factory=list)
    check: Check
    timeout: float = Field(default=900, gt=0)
    tags: list[str] = Field(default_factory=list)

    @field_validator("check", mode="before")
    @classmethod
    def _command_only(cls, value: Any) -> Any:
        return {"command": value} if isinstance(value, str) else value


class Task(BaseModel):
    """One task, ready to run: paths are absolute; ``files`` (path -> text) and
    ``check_texts`` stand in for directories when an adapter builds the task in memory."""

    name: str
    request: str
    workspace: Path | None = None
    files: dict[str, str] = Field(default_factory=dict)
    setup: list[str] = Field(default_factory=list)
    check: Check
    check_dir: Path | None = None
    check_texts: dict[str, str] = Field(default_factory=dict)
    timeout: float = 900
    tags: list[str] = Field(default_factory=list)
    source: str = ""
