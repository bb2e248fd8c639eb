"""The configuration sections. Every default LocalAgent has lives in these models.

Lists replace the value from a lower layer, except the ones named in ``MERGED_LISTS``:
those accumulate across layers (defaults + user + project + env + flags), so a project
file can add an allowed command but can never drop a deny pattern or a protected path.
Mappings (``providers``, ``chains``, ``prices``, every section) merge key by key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator

from graph.phases import numbering, phase_numbers, unknown_numbers
from providers.policy import DEFAULT_DEADLINE_SECONDS

MERGED_LISTS: frozenset[tuple[str, ...]] = frozenset({
    ("security", "allowed_commands"), ("security", "deny_commands"),
    ("security", "protected_paths"), ("security", "deny_read"), ("security", "allowed_env"),
    ("security", "sandbox_hide"), ("plugins", "disabled"),
})

DEFAULT_ALLOWED_COMMANDS = [
    # tests and checks
    "pytest", "python -m pytest", "python3 -m pytest", "python -m unittest",
    "python3 -m unittest", "npm test", "npm run test", "npm run lint", "npx jest",
    "npx vitest", "go test", "go vet", "go build", "cargo test", "cargo check",
    "cargo build", "make test", "make check", "ruff", "mypy", "tsc", "eslint",
    # read-only inspection
    "ls", "cat", "head", "tail", "wc", "grep", "rg", "find", "tree", "sort", "uniq",
    "diff", "echo", "pwd", "true", "false", "which", "file", "stat",
    "git status", "git diff", "git log", "git show", "git branch", "git rev-parse",
    "python --version", "python3 --version", "node --version", "go version",
]

DEFAULT_DENY_COMMANDS = [
    r"^rm\s(.*\s)?(/|/\*|~/?|\$HOME/?|\.\.?/?|\*)(\s|$)",  # rm of /, ~, . or *
    r"\b(sudo|doas|pkexec)\b",
    r"^(mkfs\S*|fdisk|sfdisk|parted|wipefs|dd|shred)\b",
    r"^(shutdown|reboot|halt|poweroff|init|systemctl|launchctl)\b",
    r"^chmod\s+(-\w+\s+)*0?777\b",
    r"^chown\s+(-\w+\s+)*-R\b",
    r"\b(curl|wget)\b[^|]*\|\s*(sudo\s+)?(ba|z|da|k|fi)?sh\b",
    r"^git\s+push\b",
    r"^git\s.*\s--output(=|\s|$)",  # git diff --output=.git/hooks/... writes a file
    r"^git\s+(reset\s+--hard|clean\s+-\w*f|checkout\s+--\s+\.)",
    r"^find\s.*\s-(delete|exec|execdir|ok)\b",
    r":\(\)\s*\{",  # fork bomb
    r">\s*/dev/(sd|nvme|hd|disk)",
]


# Variables an agent may set on a command (``X=1 cmd``, ``env X=1 cmd``). Anything else (GIT_*,
# LD_PRELOAD, PYTHONSTARTUP, PYTHONWARNINGS, NODE_OPTIONS...) can make a tool run other code.
DEFAULT_ALLOWED_ENV = [
    "CI", "NO_COLOR", "FORCE_COLOR", "TERM", "COLUMNS", "LINES", "LANG", "LC_ALL", "TZ",
    "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONFAULTHANDLER",
    "NODE_ENV", "RUST_BACKTRACE", "CGO_ENABLED",
]

# Places outside the workspace that hold credentials: hidden from sandboxed commands
# (LocalAgent's own config, data and cache directories are hidden as well).
DEFAULT_SANDBOX_HIDE = [
    "~/.ssh", "~/.gnupg", "~/.aws", "~/.azure", "~/.config/gcloud", "~/.config/gh",
    "~/.kube", "~/.docker", "~/.netrc", "~/.npmrc", "~/.pypirc", "~/.git-credentials",
    "~/.password-store", "~/.local/share/keyrings", "~/.vault-token",
]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SystemSettings(Section):
    default_provider: str = Field(
        "ollama,local", description="provider spec, comma-separated chain, or a chain name")
    checkpoint_url: str | None = Field(
        None, validation_alias=AliasChoices("checkpoint_url", "checkpoint_db"),
        description="where checkpoints live: a SQLite file path, or postgresql://... to share "
        "them between machines; default: user data dir/checkpoints.sqlite")
    shared_state_url: str | None = Field(
        None, description="redis://... to share provider breakers, rate limits and the "
        "response cache between processes; default: each process keeps its own")
    shared_state_prefix: str = Field(
        "localagent:", min_length=1, description="prefix of every key in the shared store")

    @field_validator("shared_state_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"{value.split('@')[-1]!r} is not a redis:// (or rediss://, "
                             "unix://) URL")
        return value or None


class WorkflowSettings(Section):
    auto_approve: bool = Field(False, description="skip scope and change approvals")
    max_parallel_agents: int = Field(2, ge=1, le=64)
    max_iterations: int = Field(2, ge=0, le=10, description="validate -> research loops")
    max_audit_loops: int = Field(1, ge=0, le=5, description="audit -> plan loops")
    agent_step_limit: int = Field(8, ge=1, le=100, description="tool calls per agent branch")
    context_token_budget: int = Field(6000, ge=256, description="tokens per stream's context")
    phases: list[int] = Field(default_factory=phase_numbers,
                              description=f"phases to run, {numbering(named=True)}")
    checks: list[str] = Field(default_factory=list,
                              description="validation commands; empty: detect from project")

    @field_validator("phases")
    @classmethod
    def _phases(cls, value: list[int]) -> list[int]:
        bad = unknown_numbers(value)
        if bad:
            raise ValueError(f"phases are numbered {numbering()}, got {bad}")
        return sorted(set(value))


class SecuritySettings(Section):
    enable_audit_log: bool = True
    allow_command_execution: bool = True
    keyring_service: str = Field("localagent", min_length=1)
    key_store: Literal["auto", "keyring", "file"] = Field(
        "auto", description="auto: the OS keyring if it is a secure backend, else the file")
    allowed_commands: list[str] = Field(default_factory=lambda: list(DEFAULT_ALLOWED_COMMANDS))
    deny_commands: list[str] = Field(default_factory=lambda: list(DEFAULT_DENY_COMMANDS),
                                     description="regular expressions; a match is refused")
    protected_paths: list[str] = Field(
        default_factory=lambda: [".git", ".git/**", ".localagent/**"],
        description="workspace paths agents may never write")
    deny_read: list[str] = Field(
        default_factory=lambda: [".env", ".env.*", "*.pem", "*.key", "id_rsa*", "id_ed25519*",
                                 ".netrc", ".npmrc", ".pypirc"],
        description="workspace paths agents may never read")
    allowed_env: list[str] = Field(default_factory=lambda: list(DEFAULT_ALLOWED_ENV),
                                   description="variables a command line may set")
    sandbox: Literal["auto", "bwrap", "landlock", "sandbox-exec", "off"] = Field(
        "auto", description="OS sandbox for every command: auto picks bwrap, then Landlock "
        "(Linux) or sandbox-exec (macOS); without one, commands that run project code need "
        "approval each time")
    allow_network: bool = Field(False, description="let sandboxed commands use the network")
    sandbox_hide: list[str] = Field(default_factory=lambda: list(DEFAULT_SANDBOX_HIDE),
                                    description="paths outside the workspace sandboxed "
                                    "commands cannot read")
    command_timeout: float = Field(120.0, gt=0, le=3600)
    max_output_bytes: int = Field(64 * 1024, ge=1024)
    max_file_bytes: int = Field(256 * 1024, ge=1024, description="largest file read into context")
    max_message_chars: int = Field(200_000, ge=1000)

    @field_validator("allowed_env")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        import re

        bad = [name for name in value if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a variable name")
        return value

    @field_validator("deny_commands")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        import re

        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
        return value


class PerformanceSettings(Section):
    deadline: float = Field(DEFAULT_DEADLINE_SECONDS, gt=0,
                            description="seconds for one model request, fallbacks included")


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    format: Literal["text", "json"] = "text"
    file_path: str | None = None

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class JwtSettings(Section):
    secret: SecretStr | None = Field(None, description="HS256 shared secret")
    jwks_file: str | None = Field(None, description="JWKS file with the issuer's public keys")
    audience: str | None = None
    issuer: str | None = None
    scope_claim: str = Field("scope", description="claim holding the scopes (chat runs admin)")


class ServerSettings(Section):
    host: str = Field("127.0.0.1", description="address to bind; anything else is public")
    port: int = Field(8765, ge=1, le=65535)
    workspace_roots: list[Path] = Field(
        default_factory=list, description="directories runs may work in; none: runs API off")
    max_concurrent_runs: int = Field(2, ge=1, le=64)
    shutdown_grace: float = Field(30.0, ge=0, description="seconds streams get at SIGTERM")
    metrics_auth: bool = Field(False, description="require a key for /metrics")
    cors_origins: list[str] = Field(default_factory=list, description="none: CORS off")
    rate_limit: float | None = Field(
        None, gt=0, description="requests per minute per key (none: unlimited)")
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    passthrough: bool = Field(
        True, description="stream plain completions from an OpenAI-compatible first "
        "provider byte for byte (falls back to the full chain if it fails first)")
    jwt: JwtSettings = Field(default_factory=JwtSettings)


class PluginsSettings(Section):
    disabled: list[str] = Field(default_factory=list,
                                description="installed provider plugins not to load")
