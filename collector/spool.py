"""Bounded, fsync'd on-disk spool of line-protocol batches, replayed oldest first.

Each batch is one file `<seq>.lp`, written to a temp name, fsync'd, renamed and the directory
fsync'd: after `append` returns True the batch survives kill -9 and power loss. When the bound is
reached `append` returns False and the caller stops acknowledging (backpressure), never drops.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

SUFFIX = ".lp"


class Spool:
    """Batches of line protocol waiting for InfluxDB, in arrival order."""

    def __init__(self, directory: Path, max_bytes: int = 1 << 30) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        for stale in directory.glob("*.tmp"):  # a crash between write and rename: never acknowledged
            stale.unlink()
        self._files = sorted(directory.glob(f"*{SUFFIX}"))
        self._bytes = sum(p.stat().st_size for p in self._files)
        self._next = int(self._files[-1].stem) + 1 if self._files else 1

    def __len__(self) -> int:
        return len(self._files)

    @property
    def bytes(self) -> int:
        """Bytes currently spooled."""
        return self._bytes

    def append(self, body: bytes) -> bool:
        """Durably add one batch; False (nothing written) when it would exceed the bound."""
        with self._lock:
            if self._bytes + len(body) > self.max_bytes:
                return False
            path = self.directory / f"{self._next:016d}{SUFFIX}"
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                view = memoryview(body)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
            _fsync_dir(self.directory)
            self._next += 1
            self._files.append(path)
            self._bytes += len(body)
            return True

    def oldest(self) -> tuple[Path, bytes] | None:
        """The oldest batch (path and content), or None when the spool is empty."""
        with self._lock:
            if not self._files:
                return None
            path = self._files[0]
        return path, path.read_bytes()

    def remove(self, path: Path) -> None:
        """Forget a batch once InfluxDB has stored it."""
        with self._lock:
            size = path.stat().st_size
            path.unlink()
            self._files.remove(path)
            self._bytes -= size
            _fsync_dir(self.directory)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
