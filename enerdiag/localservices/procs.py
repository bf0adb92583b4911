"""Process and port facts read from /proc: who listens where, is a pid still our program, stop it.

Pure Linux `/proc` reading (no `ss`, no psutil) so the checks are cheap enough to poll every 50 ms.
"""

from __future__ import annotations

import os
import pwd
import signal
import socket
import stat
import time
from pathlib import Path

TCP_LISTEN = "0A"


def free_port() -> int:
    """A loopback TCP port the kernel considers free right now (verified against all listeners)."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if not listening_inodes(port):
            return port
    raise OSError("no free loopback port found after 50 tries")


def listening_inodes(port: int) -> set[int]:
    """Socket inodes of every TCP listener on `port`, any address, IPv4 and IPv6."""
    inodes: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != TCP_LISTEN:
                continue
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(int(fields[9]))
    return inodes


def port_in_use(port: int) -> bool:
    """True when anything listens on `port` (also 0.0.0.0/:: listeners that would catch our probes)."""
    return bool(listening_inodes(port))


def socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets process `pid` holds open."""
    inodes: set[int] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        entries = list(fd_dir.iterdir())
    except OSError:
        return inodes
    for entry in entries:
        try:
            target = os.readlink(entry)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def owns_port(pid: int, port: int) -> bool:
    """True when the listener on `port` is a socket of process `pid` (not some other server)."""
    listeners = listening_inodes(port)
    return bool(listeners) and listeners <= socket_inodes(pid)


def cmdline(pid: int) -> list[str]:
    """The argv of `pid`, empty when it does not exist."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def alive(pid: int | None) -> bool:
    """True when `pid` exists and is not a zombie."""
    if not pid:
        return False
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def is_program(pid: int | None, program: str, marker: str) -> bool:
    """True when `pid` runs `program` with `marker` (our config/data path) in its argv: safe to kill."""
    if not alive(pid):
        return False
    argv = cmdline(pid or 0)
    return bool(argv) and Path(argv[0]).name == program and any(marker in arg for arg in argv[1:])


def terminate(pid: int, first_signal: int = signal.SIGTERM, timeout: float = 10.0) -> bool:
    """Send `first_signal`, wait up to `timeout` s, then SIGKILL. Returns True if SIGKILL was needed."""
    try:
        os.kill(pid, first_signal)
    except ProcessLookupError:
        return False
    if wait_gone(pid, timeout):
        return False
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    wait_gone(pid, 5.0)
    return True


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait until `pid` is gone (or a zombie); reap it when it is our child."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:  # our own child: reap it so it does not linger as a zombie
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            pass
        if not alive(pid):
            return True
        time.sleep(0.05)
    return not alive(pid)


def unreachable_by(path: Path, user: str) -> Path | None:
    """The first directory on `path` that OS user `user` cannot traverse (None when all are fine)."""
    entry = pwd.getpwnam(user)
    groups = {entry.pw_gid} | {g.gr_gid for g in _groups_of(user)}
    for directory in [*reversed(path.resolve().parents), path.resolve()]:
        try:
            st = directory.stat()
        except OSError:
            return directory
        if entry.pw_uid == 0 or st.st_uid == entry.pw_uid:
            ok = bool(st.st_mode & stat.S_IXUSR)
        elif st.st_gid in groups:
            ok = bool(st.st_mode & stat.S_IXGRP)
        else:
            ok = bool(st.st_mode & stat.S_IXOTH)
        if not ok:
            return directory
    return None


def _groups_of(user: str) -> list:
    import grp

    return [g for g in grp.getgrall() if user in g.gr_mem]


def user_exists(user: str) -> bool:
    """True when the OS user exists."""
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def chown_tree(path: Path, user: str) -> None:
    """Give `path` and everything below it to `user` (and its primary group)."""
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def find_programs(program: str, marker: str) -> list[int]:
    """Pids of every live `program` process with `marker` (our config/data path) in its argv."""
    pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
    return sorted(pid for pid in pids if is_program(pid, program, marker))
