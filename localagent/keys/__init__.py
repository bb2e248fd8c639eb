"""API keys: OS keyring when it is secure, else an encrypted file; with an audit trail."""

from localagent.keys.manager import KeyInfo, KeyManager, mask
from localagent.keys.stores import EncryptedFileStore, KeyringStore, KeyStoreError

__all__ = ["EncryptedFileStore", "KeyInfo", "KeyManager", "KeyStoreError", "KeyringStore",
           "mask"]
