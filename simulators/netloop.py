"""One network thread for many MQTT clients, through paho's external event-loop API.

A thread per paho client (`loop_start`) does not scale to a city: 1,000 threads on two cores starve each
other until CONNACKs and keep-alives time out. Here one thread polls every client's socket; publishers in
other threads only queue packets (paho calls `on_socket_register_write`, we wake the poller), so each
socket is written by this thread alone.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time

import paho.mqtt.client as mqtt

POLL_MS = 200
MISC_INTERVAL_S = 1.0
RECONNECT_INTERVAL_S = 5.0
_IN = select.POLLIN | select.POLLPRI
_ERR = select.POLLERR | select.POLLHUP
_NVAL = select.POLLNVAL


class NetworkLoop:
    """Drives the sockets of the attached paho clients from one daemon thread."""

    def __init__(self, name: str = "sim-mqtt-net") -> None:
        self._lock = threading.Lock()
        self._clients: list[mqtt.Client] = []
        self._fds: dict[int, mqtt.Client] = {}
        self._masks: dict[int, int] = {}
        self._changes: list[tuple[int, mqtt.Client | None, int]] = []  # (fd, client or None=remove, mask)
        self._wanted: set[mqtt.Client] = set()  # clients to keep connected (reconnect after a loss)
        self._lost_at: dict[mqtt.Client, float] = {}
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.errors: list[str] = []

    # ------------------------------------------------------------ attaching clients

    def attach(self, client: mqtt.Client) -> None:
        """Route `client`'s socket events to this loop (call before `client.connect`)."""
        client.on_socket_open = self._on_open
        client.on_socket_close = self._on_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        with self._lock:
            self._clients.append(client)

    def keep_connected(self, client: mqtt.Client, wanted: bool) -> None:
        """Reconnect `client` after an unexpected loss (True) or let it go (False, before disconnecting)."""
        with self._lock:
            (self._wanted.add if wanted else self._wanted.discard)(client)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake()
        if self._thread.is_alive():
            self._thread.join(timeout)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    # ------------------------------------------------------------ paho callbacks (any thread)

    def _change(self, fd: int, client: mqtt.Client | None, mask: int) -> None:
        with self._lock:
            self._changes.append((fd, client, mask))
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"\0")

    def _on_open(self, client: mqtt.Client, userdata: object, sock: object) -> None:
        self._change(sock.fileno(), client, _IN)  # type: ignore[attr-defined]

    def _on_close(self, client: mqtt.Client, userdata: object, sock: object) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._change(sock.fileno(), None, 0)  # type: ignore[attr-defined]
        with self._lock:
            if client in self._wanted:
                self._lost_at[client] = time.monotonic()

    def _on_register_write(self, client: mqtt.Client, userdata: object, sock: object) -> None:
        self._change(sock.fileno(), client, _IN | select.POLLOUT)  # type: ignore[attr-defined]

    def _on_unregister_write(self, client: mqtt.Client, userdata: object, sock: object) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._change(sock.fileno(), client, _IN)  # type: ignore[attr-defined]

    # ------------------------------------------------------------ the thread

    def _apply_changes(self, poller: select.poll) -> None:
        with self._lock:
            changes, self._changes = self._changes, []
        for fd, client, mask in changes:
            if client is None:
                if self._fds.pop(fd, None) is not None:
                    self._masks.pop(fd, None)
                    with contextlib.suppress(KeyError, OSError, ValueError):
                        poller.unregister(fd)
                continue
            known = self._fds.get(fd)
            if known is not None and known is not client:
                with contextlib.suppress(KeyError, OSError, ValueError):
                    poller.unregister(fd)
            self._fds[fd] = client
            if self._masks.get(fd) != mask:
                self._masks[fd] = mask
                with contextlib.suppress(OSError, ValueError):
                    poller.register(fd, mask)

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._wake_r, _IN)
        last_misc = time.monotonic()
        while not self._stop.is_set():
            self._apply_changes(poller)
            try:
                events = poller.poll(POLL_MS)
            except InterruptedError:
                continue
            for fd, event in events:
                if fd == self._wake_r:
                    with contextlib.suppress(BlockingIOError, OSError):
                        while os.read(self._wake_r, 4096):
                            pass
                    continue
                client = self._fds.get(fd)
                if client is None:
                    continue
                if event & _NVAL:
                    self._change(fd, None, 0)
                    continue
                try:
                    if event & (_IN | _ERR):
                        client.loop_read()
                    if event & select.POLLOUT and client.socket() is not None:
                        client.loop_write()
                except Exception as exc:  # a broken client must not stop the others
                    self.errors.append(f"{type(exc).__name__}: {exc}")
            now = time.monotonic()
            if now - last_misc >= MISC_INTERVAL_S:
                last_misc = now
                self._misc(now)

    def _misc(self, now: float) -> None:
        with self._lock:
            clients = list(self._clients)
            lost = [c for c, at in self._lost_at.items() if now - at >= RECONNECT_INTERVAL_S and c in self._wanted]
        for client in clients:
            if client.socket() is not None:
                client.loop_misc()
        for client in lost:
            with self._lock:
                self._lost_at.pop(client, None)
            try:
                client.reconnect()
            except OSError:
                with self._lock:
                    self._lost_at[client] = now
