"""The security policy: the one door every agent side effect goes through.

Reads, writes and commands are checked against the workspace and the configured limits;
every refusal is written to the audit log and raised as ``PolicyDenied``, whose
``tool_error()`` is what the agent sees.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path

from localagent.audit import AuditLog
from localagent.config.sections import SecuritySettings
from localagent.redact import register_secret
from localagent.security.commands import CommandPolicy
from localagent.security.denied import PolicyDenied
from localagent.security.interpreter import project_bin_dirs
from localagent.security.paths import Workspace
from localagent.security.runner import CommandResult, command_env, run_command_line
from localagent.security.sandbox import (
    INSTALL_HINT,
    Confinement,
    Sandbox,
    SandboxUnavailable,
    choose,
)
from localagent.security.scan import remove_new, scan, secret_values
from localagent.security.writes import AppliedChanges, FileChange, apply_changes


class SecurityPolicy:
    """Workspace confinement, approved atomic writes, allowlisted commands, size limits."""

    def __init__(self, workspace: str | Path, settings: SecuritySettings | None = None, *,
                 auto_approve: bool = False, extra_commands: Sequence[str] = (),
                 audit: AuditLog | None = None,
                 approve: Callable[[list[FileChange]], bool] | None = None) -> None:
        self.settings = settings = settings or SecuritySettings()
        self.auto_approve = auto_approve
        self.workspace = Workspace(workspace, protected=settings.protected_paths,
                                   deny_read=settings.deny_read)
        self.commands = CommandPolicy(
            self.workspace, allowed=[*settings.allowed_commands, *extra_commands],
            denied=settings.deny_commands, enabled=settings.allow_command_execution,
            allowed_env=settings.allowed_env)
        self.audit = audit if audit is not None else AuditLog(enabled=settings.enable_audit_log)
        self.approve = approve
        self._sandbox: tuple[Sandbox | None, str] | None = None

    @contextmanager
    def _audited(self, action: str) -> Iterator[None]:
        try:
            yield
        except PolicyDenied as denied:
            self.audit.record("policy_denied", action=action, kind=denied.kind,
                              reason=denied.reason, target=denied.target,
                              workspace=str(self.workspace.root))
            raise

    def resolve(self, path: str | Path) -> Path:
        with self._audited("resolve"):
            return self.workspace.resolve(path)

    def read_text(self, path: str | Path) -> str:
        with self._audited("read"):
            return self.workspace.read_text(path, max_bytes=self.settings.max_file_bytes)

    def list_files(self, start: str | Path = ".") -> Iterator[str]:
        with self._audited("list"):
            yield from self.workspace.iter_files(start)

    def check_message(self, text: str, *, what: str = "message") -> str:
        """``text`` if it is within ``security.max_message_chars``, else a denial."""
        with self._audited("message"):
            if len(text) > self.settings.max_message_chars:
                raise PolicyDenied("too_large", f"{what} is {len(text)} characters; "
                                   f"security.max_message_chars is "
                                   f"{self.settings.max_message_chars}",
                                   hint="shorten it or split it into parts")
        return text

    def check_write(self, changes: list[FileChange]) -> list[str]:
        """Workspace-relative paths of a proposed change set, or the first denial."""
        with self._audited("write"):
            paths = [self.workspace.relative(self.workspace.check_write(c.path))
                     for c in changes]
            return paths

    def apply(self, changes: list[FileChange], *, approved: bool = False) -> AppliedChanges:
        """Write a change set atomically with backups; needs approval unless auto-approve."""
        self.check_write(changes)
        with self._audited("write"):
            if not (approved or self.auto_approve
                    or (self.approve is not None and self.approve(changes))):
                raise PolicyDenied("not_approved",
                                   f"writing {len(changes)} file(s) needs the user's approval",
                                   target=", ".join(c.path for c in changes))
        applied = apply_changes(self.workspace, changes)
        self.audit.record("files_written", id=applied.id, paths=applied.paths,
                          backup=str(applied.backup_dir))
        return applied

    def check_command(self, command: str) -> None:
        with self._audited("command"):
            self.commands.check(command, command_env())

    @property
    def sandbox(self) -> Sandbox | None:
        """The OS sandbox commands run in (``None``: off, or ``auto`` found none)."""
        if self._sandbox is None:
            try:
                self._sandbox = choose(self.settings.sandbox)
            except SandboxUnavailable as exc:
                raise PolicyDenied("sandbox_unavailable", str(exc),
                                   hint=f"{INSTALL_HINT}, or set security.sandbox: auto") from exc
        return self._sandbox[0]

    @property
    def _why(self) -> str:
        return self._sandbox[1] if self._sandbox else ""

    def sandbox_status(self) -> str:
        """A sentence naming the sandbox in use, or why there is none."""
        sandbox = self.sandbox
        return sandbox.describe() if sandbox else f"none ({self._why})"

    def needs_approval(self, command: str) -> str | None:
        """Why ``command`` needs the user's approval before it runs (it runs project code
        and no sandbox is available), or ``None``. Raises ``PolicyDenied`` if not allowed."""
        env = self.command_env()
        with self._audited("command"):
            line = self.commands.check(command, env)
            if self.sandbox is not None:
                return None
        code = self.commands.project_code(line, env)
        if code is None:
            return None
        return (f"{code!r} runs code from the project (tests, build files, scripts) with your "
                f"permissions, and no OS sandbox is in use ({self._why})")

    def command_env(self) -> dict[str, str]:
        """The environment commands start from (a sandbox narrows it further): the
        project's Python first on PATH (``localagent.security.interpreter``), never
        LocalAgent's own."""
        return command_env(path_first=project_bin_dirs(self.workspace.root))

    def run(self, command: str, *, timeout: float | None = None,
            approved: bool = False) -> CommandResult:
        """Check and run a command line in the workspace, without a shell, inside the OS
        sandbox. ``python`` is the project's (see ``command_env``). Without a sandbox, a line
        that runs project code needs ``approved`` (the user said yes to this very run)."""
        env = self.command_env()
        with self._audited("command"):
            line = self.commands.check(command, env)
            sandbox = self.sandbox
            code = None if sandbox or approved else self.commands.project_code(line, env)
            if code is not None:
                raise PolicyDenied(
                    "needs_approval", f"{code!r} runs project code and no OS sandbox is in "
                    f"use ({self._why}): it needs the user's approval each time",
                    target=command, hint="propose edits instead; the checks run once the "
                    "user approves them ('localagent health' says how to get a sandbox)")
        limit = min(timeout or self.settings.command_timeout, self.settings.command_timeout)
        found = scan(self.workspace)
        register_secret(*secret_values(found.hidden))
        confinement = Confinement(
            self.workspace.root, read_only=real_paths(found.protected),
            hidden=real_paths([*found.hidden, *hidden_outside(self.settings.sandbox_hide)]),
            allow_network=self.settings.allow_network,
            pass_env=frozenset(self.settings.allowed_env),
            protected_patterns=self.workspace.protected, hidden_patterns=self.workspace.deny_read)
        with sandbox.session(confinement) if sandbox else nullcontext(None) as session:
            result = run_command_line(line, command, cwd=self.workspace.root, env=env,
                                      timeout=limit, max_output=self.settings.max_output_bytes,
                                      session=session)
        removed = [self.workspace.relative(p) if p.exists() else
                   p.relative_to(self.workspace.root).as_posix()
                   for p in remove_new(found.protected, scan(self.workspace).protected)]
        if removed:
            result.output += (f"\n[removed {', '.join(removed)}: protected paths the command "
                              "created]\n")
            self.audit.record("protected_removed", command=command, paths=removed)
        self.audit.record("command_run", command=command, exit_code=result.exit_code,
                          timed_out=result.timed_out, seconds=round(result.duration, 3),
                          sandbox=sandbox.name if sandbox else "none")
        return result


def hidden_outside(configured: Sequence[str]) -> list[Path]:
    """``security.sandbox_hide`` and LocalAgent's own config, data and cache directories
    (keys, audit log, checkpoints)."""
    from localagent import paths

    return [*(Path(p).expanduser() for p in configured), paths.config_dir(), paths.data_dir(),
            paths.cache_dir()]


def real_paths(paths: Sequence[Path]) -> list[Path]:
    """Where ``paths`` lead (a symlinked secret is hidden where it really is), existing ones
    only, without repeats."""
    return sorted({Path(os.path.realpath(p)) for p in paths if p.exists()})
