"""``keys migrate``: move plaintext API keys out of config files into the key store.

The file is edited as text (only the ``api_key`` lines go), so comments and layout stay;
the original is kept as ``<file>.bak-<timestamp>`` and the new file is written atomically.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from localagent.atomic import atomic_write
from localagent.keys.manager import KeyManager
from localagent.keys.stores import KeyStoreError


@dataclass
class Plaintext:
    provider: str
    value: str
    first_line: int   # 0-based, inclusive
    last_line: int    # 0-based, inclusive
    inline: bool = False  # in a flow mapping ({...}): its lines hold other settings too


def find_plaintext_keys(text: str) -> list[Plaintext]:
    """``providers.<name>.api_key`` entries holding a literal key (not ``${VAR}``)."""
    import yaml

    root = yaml.compose(text)
    found: list[Plaintext] = []
    if not isinstance(root, yaml.MappingNode):
        return found
    for key, section in root.value:
        if key.value != "providers" or not isinstance(section, yaml.MappingNode):
            continue
        for provider, settings in section.value:
            if not isinstance(settings, yaml.MappingNode):
                continue
            for field, value in settings.value:
                if (field.value == "api_key" and isinstance(value, yaml.ScalarNode)
                        and value.tag == "tag:yaml.org,2002:str"  # not null, ~ or a number
                        and value.value and "${" not in value.value):
                    last = value.end_mark.line - (1 if value.end_mark.column == 0 else 0)
                    inline = bool(root.flow_style or section.flow_style or settings.flow_style)
                    found.append(Plaintext(provider.value, value.value,
                                           field.start_mark.line, last, inline))
    return found


def remove_lines(text: str, entries: list[Plaintext]) -> str:
    lines = text.splitlines(keepends=True)
    drop = {n for entry in entries for n in range(entry.first_line, entry.last_line + 1)}
    return "".join(line for n, line in enumerate(lines) if n not in drop)


def migrate_file(path: Path, manager: KeyManager, *, dry_run: bool = False) -> list[str]:
    """Store each plaintext key of ``path`` and rewrite it without them; returns providers."""
    text = path.read_text(encoding="utf-8")
    entries = find_plaintext_keys(text)
    for entry in entries:
        if entry.inline:
            raise KeyStoreError(f"{path}:{entry.first_line + 1}: providers.{entry.provider} is "
                                f"written inline ({{...}}); put its api_key on a line of its "
                                f"own (block style) to migrate it")
    if not entries or dry_run:
        return [entry.provider for entry in entries]
    for entry in entries:
        existing, _ = manager.lookup(entry.provider)
        if existing is not None and existing != entry.value:
            raise KeyStoreError(f"{path}: providers.{entry.provider}.api_key differs from the "
                                f"stored key {entry.provider!r}; delete one of them first")
    backup = path.with_name(f"{path.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}")
    shutil.copy2(path, backup)
    backup.chmod(0o600)
    for entry in entries:
        manager.set(entry.provider, entry.value, event="key_migrate")
    atomic_write(path, remove_lines(text, entries))
    manager.audit.record("config_migrated", file=str(path), backup=str(backup),
                         names=[entry.provider for entry in entries])
    return [entry.provider for entry in entries]
