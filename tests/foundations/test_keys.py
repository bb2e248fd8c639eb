"""The key manager: choosing the store, the encrypted file, rotation, audit, resolution.
(``keys migrate`` is in test_keys_migrate.py.)

The only fake is at the keyring boundary: an in-memory backend that claims to be secure.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.errors import NoKeyringError, PasswordDeleteError
from keyrings.alt.file import PlaintextKeyring

from localagent.audit import AuditLog
from localagent.config.loader import load
from localagent.config.sections import SecuritySettings
from localagent.keys import (
    EncryptedFileStore,
    KeyInfo,
    KeyManager,
    KeyringStore,
    KeyStoreError,
    stores,
)
from localagent.keys.choose import choose_store, file_store, secure_keyring

KEY = "sk-test-0123456789abcdefghijKLMN"
NEW = "sk-test-rotated-9876543210zyxwvu"


class MemoryKeyring(KeyringBackend):
    """A secure OS keyring, in memory."""

    priority = 10

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.data.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.data[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.data.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


class UnusableKeyring(MemoryKeyring):
    priority = 0


class BrokenKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("dbus is down")


for _fake in (MemoryKeyring, UnusableKeyring, BrokenKeyring):  # keyring's own detection
    getattr(KeyringBackend, "_classes", set()).discard(_fake)  # must never pick a fake


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def fast_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stores, "PBKDF2_ITERATIONS", 1000)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def events() -> list[dict]:
    return AuditLog().entries()


# -- choosing the store -------------------------------------------------------------------
def _no_backend() -> None:
    raise NoKeyringError("no backend found")


def _label(cls: type) -> str:
    return f"{cls.__module__}.{cls.__name__}"


@pytest.mark.parametrize("backend, reason", [
    (PlaintextKeyring,
     "the OS keyring backend is keyrings.alt.file.PlaintextKeyring, which is not secure"),
    (fail.Keyring, "the OS keyring backend is keyring.backends.fail.Keyring, which is not secure"),
    (null.Keyring, "the OS keyring backend is keyring.backends.null.Keyring, which is not secure"),
    (None, "no OS keyring backend (no backend found)"),
    (UnusableKeyring, f"the OS keyring backend {_label(UnusableKeyring)} is not usable here"),
    (BrokenKeyring, f"the OS keyring backend {_label(BrokenKeyring)} does not work: dbus is down"),
])
def test_without_a_secure_keyring_the_encrypted_file_is_used(backend, reason, data,
                                                             monkeypatch) -> None:
    if backend is None:
        monkeypatch.setattr(keyring, "get_keyring", _no_backend)
    else:
        keyring.set_keyring(backend())
    assert secure_keyring() == (None, reason)
    store, why = choose_store("auto", "localagent")
    assert isinstance(store, EncryptedFileStore) and store.path == data / "keys.enc"
    assert why == f"no secure OS keyring: {reason}; using the encrypted file"
    with pytest.raises(KeyStoreError) as caught:
        KeyManager(SecuritySettings(key_store="keyring")).set("openai", KEY)
    assert str(caught.value) == f"security.key_store is 'keyring' but {reason}; use 'auto' or " \
                                f"'file'"
    assert KeyManager().set("openai", KEY) == "encrypted-file"
    assert file_store().get("openai") == KEY


def test_secure_backend_holds_the_keys_and_the_file_is_never_written(data) -> None:
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    backend, why = secure_keyring()
    assert backend is ring and why.startswith("secure OS keyring ")
    assert isinstance(choose_store("auto", "localagent")[0], KeyringStore)
    assert KeyManager().set("openai", KEY) == "keyring"
    KeyManager(SecuritySettings(keyring_service="other")).set("gemini", NEW)
    assert ring.data[("localagent", "openai")] == KEY
    assert ring.data[("other", "gemini")] == NEW
    assert json.loads(ring.data[("localagent", "__localagent_index__")]) == ["openai"]
    assert KeyManager().get("openai") == KEY
    assert KeyManager().list() == [KeyInfo("openai", "keyring", "sk-…KLMN")]
    assert not (data / "keys.enc").exists() and not (data / "master.key").exists()
    manager = KeyManager(SecuritySettings(key_store="file"))  # "file" is always the file
    assert manager.set("openai", KEY) == "encrypted-file"
    assert manager.reason == "security.key_store is 'file'"
    assert ring.data[("localagent", "openai")] == KEY and file_store().get("openai") == KEY
    assert KeyManager(SecuritySettings(key_store="file")).get("openai") == KEY


def test_the_store_is_announced_once_and_again_when_it_changes(data) -> None:
    first = KeyManager()
    assert first.store.name == "encrypted-file"
    assert first.notice == (f"keys are kept in the encrypted-file store at {data / 'keys.enc'} "
                            f"({first.reason})")
    second = KeyManager()
    assert second.store.name == "encrypted-file" and second.notice is None
    keyring.set_keyring(MemoryKeyring())
    third = KeyManager()
    assert third.store.name == "keyring"
    assert third.notice is not None and third.notice.startswith("keys are kept in the keyring")
    fourth = KeyManager()
    assert fourth.store.name == "keyring" and fourth.notice is None


# -- the encrypted file -------------------------------------------------------------------
def child(code: str, data: Path) -> str:
    env = {**os.environ, "LOCALAGENT_DATA_DIR": str(data),
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    env.pop(stores.PASSPHRASE_ENV, None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_encrypted_store_round_trips_across_processes(data) -> None:
    KeyManager().set("openai", KEY)
    read = "from localagent.keys import KeyManager; print(KeyManager().get('openai'))"
    assert child(read, data) == KEY
    child(f"from localagent.keys import KeyManager; KeyManager().set('gemini', {NEW!r})", data)
    assert KeyManager().get("gemini") == NEW and KeyManager().get("openai") == KEY
    assert len({entry["pid"] for entry in events()}) == 3  # this process and two children


def test_passphrase_mode(monkeypatch: pytest.MonkeyPatch, data, fast_kdf) -> None:
    monkeypatch.setenv(stores.PASSPHRASE_ENV, "correct horse battery staple")
    KeyManager().set("openai", KEY)
    header = json.loads((data / "keys.enc").read_bytes().partition(b"\n")[0])
    assert header["master"] == "passphrase" and header["kdf"] == "pbkdf2-sha256"
    assert header["iterations"] == 1000
    assert not (data / "master.key").exists()
    assert KeyManager().get("openai") == KEY
    # a store keeps working when the default iteration count changes (in a fresh process)
    monkeypatch.setattr(stores, "PBKDF2_ITERATIONS", 2000)
    monkeypatch.setattr(stores, "_derived", {})
    assert KeyManager().get("openai") == KEY
    monkeypatch.delenv(stores.PASSPHRASE_ENV)
    with pytest.raises(KeyStoreError, match="is encrypted with LOCALAGENT_MASTER_KEY, which is "
                                            "not set"):
        KeyManager().get("openai")
    monkeypatch.setenv(stores.PASSPHRASE_ENV, "wrong passphrase")
    with pytest.raises(KeyStoreError, match=r"cannot be decrypted \(wrong master key"):
        KeyManager().list()
    monkeypatch.setenv(stores.PASSPHRASE_ENV, "correct horse battery staple")
    with pytest.raises(KeyStoreError, match="give the new passphrase"):
        KeyManager().rotate_master()
    KeyManager().rotate_master("new passphrase")
    with pytest.raises(KeyStoreError, match="cannot be decrypted"):
        KeyManager().get("openai")
    monkeypatch.setenv(stores.PASSPHRASE_ENV, "new passphrase")
    assert KeyManager().get("openai") == KEY


def test_an_existing_file_mode_store_ignores_a_later_passphrase(monkeypatch, data) -> None:
    KeyManager().set("openai", KEY)
    monkeypatch.setenv(stores.PASSPHRASE_ENV, "set afterwards")
    KeyManager().set("gemini", NEW)
    assert json.loads((data / "keys.enc").read_bytes().partition(b"\n")[0])["master"] == "file"


def _rewrite_token(store: EncryptedFileStore, change) -> None:
    head, _, token = store.path.read_bytes().partition(b"\n")
    store.path.write_bytes(head + b"\n" + change(token.strip()) + b"\n")


def _flip(token: bytes) -> bytes:
    at = len(token) // 2
    return token[:at] + (b"A" if token[at:at + 1] != b"A" else b"B") + token[at + 1:]


HEADER, CHANGED = "its header is damaged", "wrong master key, or the file was changed"
CORRUPTIONS = {
    "garbage header": (lambda s: s.path.write_bytes(b"garbage\n" + s.path.read_bytes()), HEADER),
    "header not an object": (lambda s: s.path.write_bytes(b"[1, 2]\nxyz\n"), HEADER),
    "passphrase, no salt": (lambda s: s.path.write_bytes(
        b'{"format": "localagent-keys", "master": "passphrase"}\nxyz\n'), HEADER),
    "empty file": (lambda s: s.path.write_bytes(b""), HEADER),
    "truncated token": (lambda s: _rewrite_token(s, lambda t: t[: len(t) // 2]), CHANGED),
    "flipped byte": (lambda s: _rewrite_token(s, _flip), CHANGED),
}


@pytest.mark.parametrize("damage", list(CORRUPTIONS))
def test_a_corrupt_store_is_an_error_naming_the_backup(damage, data) -> None:
    KeyManager().set("openai", KEY)
    KeyManager().set("gemini", NEW)  # the second write keeps a backup
    store = file_store()
    assert store.backup_path == data / "keys.enc.bak" and store.backup_path.is_file()
    corrupt, why = CORRUPTIONS[damage]
    corrupt(store)
    before = store.path.read_bytes()
    expected = (f"{store.path}: the key store cannot be decrypted ({why}); "
                f"restore it from {store.backup_path}")
    for use in (KeyManager().list, lambda: KeyManager().get("openai"),
                lambda: KeyManager().set("perplexity", KEY)):
        with pytest.raises(KeyStoreError) as caught:
            use()
        assert str(caught.value) == expected
    assert store.path.read_bytes() == before  # never overwritten with an empty store
    store.backup_path.replace(store.path)
    assert KeyManager().get("openai") == KEY


def test_a_corrupt_store_without_a_backup(data) -> None:
    KeyManager().set("openai", KEY)
    _rewrite_token(file_store(), _flip)
    with pytest.raises(KeyStoreError, match="move it away and set your keys again") as caught:
        KeyManager().list()
    assert ".bak" not in str(caught.value)


def test_missing_or_damaged_master_key(data) -> None:
    KeyManager().set("openai", KEY)
    master = data / "master.key"
    good = master.read_bytes()
    master.unlink()
    with pytest.raises(KeyStoreError, match=f"its master key file {master} is missing"):
        KeyManager().get("openai")
    master.write_bytes(b"not-a-fernet-key\n")
    with pytest.raises(KeyStoreError, match=f"{master}: the master key file is damaged"):
        KeyManager().list()
    from cryptography.fernet import Fernet

    master.write_bytes(Fernet.generate_key() + b"\n")
    with pytest.raises(KeyStoreError, match=r"cannot be decrypted \(wrong master key"):
        KeyManager().get("openai")
    master.write_bytes(good)
    assert KeyManager().get("openai") == KEY


def test_files_are_private(data) -> None:
    KeyManager().set("openai", KEY)
    KeyManager().set("gemini", NEW)
    assert mode(data) == 0o700
    for name in ("keys.enc", "master.key", "keys.enc.bak", "audit.jsonl", "key-store.json"):
        assert mode(data / name) == 0o600, name
    KeyManager().rotate_master()
    for name in ("keys.enc", "master.key", "keys.enc.bak"):
        assert mode(data / name) == 0o600, name


# -- rotate, delete, list, audit ----------------------------------------------------------
def test_rotate_master_re_encrypts_and_keeps_a_usable_backup(data) -> None:
    with pytest.raises(KeyStoreError, match="there is no encrypted key store at"):
        KeyManager().rotate_master()
    KeyManager().set("openai", KEY)
    KeyManager().set("gemini", NEW)
    old_master, old_store = (data / "master.key").read_bytes(), (data / "keys.enc").read_bytes()
    KeyManager().rotate_master()
    new_master = (data / "master.key").read_bytes()
    assert new_master != old_master and len(new_master.split()) == 1
    assert (data / "keys.enc").read_bytes() != old_store
    assert KeyManager().get("openai") == KEY and KeyManager().get("gemini") == NEW
    (data / "keys.enc").unlink()  # the backup the error message points to still opens
    (data / "keys.enc.bak").replace(data / "keys.enc")
    assert KeyManager().get("gemini") == NEW
    assert "master_key_rotate" in [e["event"] for e in events()]


def test_delete_removes_the_key_from_every_store(data) -> None:
    KeyManager(SecuritySettings(key_store="file")).set("openai", "sk-in-the-file-000000000000")
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    KeyManager().set("openai", KEY)
    KeyManager(SecuritySettings(key_store="file")).set("gemini", NEW)
    assert KeyManager().lookup("openai") == (KEY, "keyring")  # keyring before file
    assert [(k.name, k.store) for k in KeyManager().list()] == [
        ("gemini", "encrypted-file"), ("openai", "keyring")]
    assert KeyManager().delete("openai") is True
    assert ("localagent", "openai") not in ring.data and file_store().get("openai") is None
    assert KeyringStore(ring, "localagent").names() == []
    assert KeyManager().delete("openai") is False
    deletes = [e for e in events() if e["event"] == "key_delete"]
    assert [(e["stores"], e["found"]) for e in deletes] == [
        (["keyring", "encrypted-file"], True), ([], False)]


def test_list_masks_keys_and_names_are_checked() -> None:
    KeyManager().set("openai", KEY)
    KeyManager().set("perplexity", "pplx-short")
    listed = KeyManager().list()
    assert listed == [KeyInfo("openai", "encrypted-file", "sk-…KLMN"),
                      KeyInfo("perplexity", "encrypted-file", "********")]
    assert all(info.masked not in (KEY, "pplx-short") for info in listed)
    assert KEY not in repr(listed) and "pplx-short" not in repr(listed)
    with pytest.raises(KeyStoreError, match="invalid key name 'Bad Name'"):
        KeyManager().set("Bad Name", KEY)
    with pytest.raises(KeyStoreError, match="the key for 'openai' is empty"):
        KeyManager().set("openai", "   ")


def test_rotate_and_the_audit_log(data) -> None:
    manager = KeyManager()
    with pytest.raises(KeyStoreError, match="no stored key named 'openai' to rotate; use"):
        manager.rotate("openai", NEW)
    manager.set("openai", KEY)
    assert manager.get("openai") == KEY
    assert manager.rotate("openai", NEW) == "encrypted-file"
    assert KeyManager().get("openai", purpose="show") == NEW
    manager.delete("openai")
    lines = (data / "audit.jsonl").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["event"] for e in entries] == ["key_set", "key_use", "key_rotate", "key_use",
                                             "key_delete"]
    assert all(e["name"] == "openai" and e["pid"] == os.getpid() for e in entries)
    assert [e.get("purpose") for e in entries] == [None, "read", None, "show", None]
    assert entries[0]["store"] == entries[2]["store"] == "encrypted-file"
    raw = (data / "audit.jsonl").read_text()
    assert KEY not in raw and NEW not in raw
    KeyManager(SecuritySettings(enable_audit_log=False)).set("gemini", KEY)
    assert len((data / "audit.jsonl").read_text().splitlines()) == 5


# -- where a provider's key comes from ----------------------------------------------------
def test_resolution_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    KeyManager().set("openai", KEY)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment-0000")
    loaded = load()
    manager = KeyManager(loaded.settings.security)
    assert manager.resolve("openai", loaded, "sk-flag-000000000000") == (
        "sk-flag-000000000000", "command-line flag")
    assert manager.resolve("openai", loaded) == ("sk-from-the-environment-0000",
                                                 "env OPENAI_API_KEY")
    monkeypatch.delenv("OPENAI_API_KEY")
    project = tmp_path / ".localagent" / "config.yaml"
    project.parent.mkdir()
    project.write_text("providers:\n  openai:\n    api_key: sk-from-the-project-file-00\n")
    assert manager.resolve("openai", load()) == (
        "sk-from-the-project-file-00", str(tmp_path.resolve() / ".localagent" / "config.yaml"))
    project.unlink()
    assert manager.resolve("openai", load()) == (KEY, "encrypted-file")
    assert manager.resolve("gemini", load()) == (None, "")
    assert events()[-1] == {**events()[-1], "event": "key_use", "purpose": "provider"}


def test_fill_adds_stored_keys_only_where_none_is_configured(monkeypatch, tmp_path) -> None:
    KeyManager().set("openai", KEY)
    KeyManager().set("gemini", NEW)
    KeyManager().set("not-a-provider", "x" * 20)
    project = tmp_path / ".localagent" / "config.yaml"
    project.parent.mkdir()
    project.write_text("providers:\n  gemini:\n    model: gemini-2.0-flash\n")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment-0000")
    settings = load().settings
    filled = KeyManager().fill(settings)
    assert filled.providers["openai"].api_key.get_secret_value() == "sk-from-the-environment-0000"
    assert filled.providers["gemini"].api_key.get_secret_value() == NEW
    assert filled.providers["gemini"].model == "gemini-2.0-flash"
    assert "not-a-provider" not in filled.providers
    assert settings.providers["gemini"].api_key is None  # the original is not changed
    keyring.set_keyring(ring := MemoryKeyring())
    ring.set_password("localagent", "gemini", "AIza-from-the-keyring-000000")
    ring.set_password("localagent", "__localagent_index__", '["gemini"]')
    gemini = KeyManager().fill(settings).providers["gemini"].api_key
    assert gemini.get_secret_value() == "AIza-from-the-keyring-000000"
