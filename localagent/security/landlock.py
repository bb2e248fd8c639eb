"""A small ctypes layer over Linux Landlock (kernel 5.13+): a ruleset built in the parent,
applied in the child between fork and exec.

Landlock rules only grant: an access is allowed where some rule beneath a path grants it.
So "everything but X" is built by granting every sibling on the way down to X
(``subtrees_without``). Reads are granted on the whole filesystem except hidden paths;
writes on the workspace except protected and hidden paths, a private temp directory and a
few devices. TCP bind and connect are denied (ABI 4+), and so are abstract unix sockets
and signals to processes outside the sandbox (ABI 6+)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446  # every architecture
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

# rights that may be granted on a file (the others only make sense on a directory)
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ = EXECUTE | READ_FILE
WRITE = (WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | MAKE_SOCK | MAKE_FIFO
         | MAKE_SYM | REFER | TRUNCATE)
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/random", "/dev/urandom")


class LandlockError(OSError):
    """Landlock is missing, disabled, or refused a rule."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


@functools.cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


@functools.cache
def abi_version() -> int:
    """The kernel's Landlock ABI version; 0 where there is none (not Linux, disabled)."""
    if os.uname().sysname != "Linux":
        return 0
    try:
        version = _libc().syscall(ctypes.c_long(SYS_CREATE_RULESET), None, ctypes.c_size_t(0),
                                  ctypes.c_uint32(CREATE_RULESET_VERSION))
    except (OSError, AttributeError):
        return 0
    return max(int(version), 0)


def _handled_fs(abi: int) -> int:
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def subtrees_without(root: Path, excluded: list[Path]) -> Iterator[Path]:
    """The largest subtrees of ``root`` holding none of ``excluded``: ``root`` itself when
    nothing is excluded below it, else its children, recursively. Symlinks are skipped (a
    rule on one would grant its target)."""
    inside = [e for e in excluded if e == root or e.is_relative_to(root)]
    if not inside:
        yield root
        return
    if root in inside:
        return
    try:
        children = list(os.scandir(root))
    except OSError:
        return
    for child in children:
        if not child.is_symlink():
            yield from subtrees_without(Path(child.path), inside)


class Ruleset:
    """A Landlock ruleset being built; ``restrictor()`` is the child's ``preexec_fn``."""

    def __init__(self, *, allow_network: bool) -> None:
        self.abi = abi_version()
        if self.abi < 1:
            raise LandlockError("Landlock is not available in this kernel")
        self.handled = _handled_fs(self.abi)
        attr = _RulesetAttr(self.handled, 0, 0)
        size = 8
        if self.abi >= 4:
            size = 16
            if not allow_network:
                attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
        if self.abi >= 6:
            size = 24
            attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        fd = _libc().syscall(ctypes.c_long(SYS_CREATE_RULESET), ctypes.byref(attr),
                             ctypes.c_size_t(size), ctypes.c_uint32(0))
        if fd < 0:
            raise LandlockError(ctypes.get_errno(), "landlock_create_ruleset failed")
        self.fd = int(fd)

    def allow(self, path: Path, rights: int) -> None:
        """Grant ``rights`` beneath ``path`` (only the file rights when it is a file)."""
        try:
            target = os.open(path, os.O_PATH | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError:
            return  # gone meanwhile
        try:
            if not stat.S_ISDIR(os.fstat(target).st_mode):
                rights &= FILE_RIGHTS
            rights &= self.handled
            if not rights:
                return
            rule = _PathBeneath(rights, target)
            done = _libc().syscall(ctypes.c_long(SYS_ADD_RULE), ctypes.c_int(self.fd),
                                   ctypes.c_int(RULE_PATH_BENEATH), ctypes.byref(rule),
                                   ctypes.c_uint32(0))
            if done != 0:
                raise LandlockError(ctypes.get_errno(), f"landlock_add_rule failed on {path}")
        finally:
            os.close(target)

    def allow_except(self, root: Path, rights: int, excluded: list[Path]) -> None:
        for subtree in subtrees_without(root, excluded):
            self.allow(subtree, rights)

    def restrictor(self) -> Callable[[], None]:
        """The function the child runs before exec: no new privileges, then the ruleset.
        It only makes two system calls (it runs between fork and exec)."""
        libc, fd = _libc(), self.fd

        def restrict() -> None:
            if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
            if libc.syscall(ctypes.c_long(SYS_RESTRICT_SELF), ctypes.c_int(fd),
                            ctypes.c_uint32(0)) != 0:
                raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")

        return restrict

    def close(self) -> None:
        os.close(self.fd)


def build(workspace: Path, *, read_only: list[Path], hidden: list[Path], temp: Path,
          allow_network: bool) -> Ruleset:
    """The ruleset of a command line: read everything but ``hidden``, list every directory,
    write the workspace but ``read_only`` and ``hidden``, use ``temp`` freely."""
    ruleset = Ruleset(allow_network=allow_network)
    try:
        ruleset.allow(Path("/"), READ_DIR)
        ruleset.allow_except(Path("/"), READ, hidden)
        ruleset.allow_except(workspace, READ, hidden)  # also inside a hidden directory
        ruleset.allow_except(workspace, WRITE, [*read_only, *hidden])
        ruleset.allow(temp, READ | READ_DIR | WRITE)
        for device in (*DEVICES, "/dev/shm"):
            ruleset.allow(Path(device), WRITE_FILE | READ_FILE | IOCTL_DEV | WRITE)
    except BaseException:
        ruleset.close()
        raise
    return ruleset
