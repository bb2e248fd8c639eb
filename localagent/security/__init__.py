"""The security policy every agent side effect goes through."""

from localagent.security.denied import PolicyDenied
from localagent.security.policy import SecurityPolicy
from localagent.security.runner import CommandResult
from localagent.security.writes import AppliedChanges, ChangeSetFailed, FileChange, restore

__all__ = ["AppliedChanges", "ChangeSetFailed", "CommandResult", "FileChange", "PolicyDenied",
           "SecurityPolicy", "restore"]
