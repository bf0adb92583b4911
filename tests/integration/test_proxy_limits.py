"""The proxy's request limits (issue 15 D3) on a real Caddy running deploy/caddy/Caddyfile on loopback.

The Caddyfile is used as shipped, with three test-only edits: loopback ports instead of 80/443, no admin endpoint
and no trust-store install, and a local upstream (a raw TCP server that records every byte it receives) instead of
`api:8000`. TLS is Caddy's internal CA (`PROXY_TLS_MODE=internal`).
"""

from __future__ import annotations

import os
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from enerdiag.localservices.procs import free_port

pytestmark = pytest.mark.integration
CADDYFILE = Path(__file__).resolve().parents[2] / "deploy" / "caddy" / "Caddyfile"
HOST = "api.test"


class Upstream:
    """Stands in for the API: answers 200 to every request and keeps the bytes it received."""

    def __init__(self) -> None:
        self.received = bytearray()
        upstream = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = self.request.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                upstream.received += data
                self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[tuple[int, Upstream]]:
    caddy = shutil.which("caddy")
    assert caddy, "caddy is a Debian package this project's tests need (apt-get install caddy)"
    upstream = Upstream()
    http_port, https_port = free_port(), free_port()
    text = CADDYFILE.read_text(encoding="utf-8")
    assert "{\n\tservers {" in text and "reverse_proxy api:8000" in text
    text = text.replace("{\n\tservers {", f"{{\n\tadmin off\n\tskip_install_trust\n\thttp_port {http_port}\n"
                                          f"\thttps_port {https_port}\n\tservers {{", 1)
    text = text.replace("reverse_proxy api:8000", f"reverse_proxy 127.0.0.1:{upstream.port}")
    config = tmp_path / "Caddyfile"
    config.write_text(text, encoding="utf-8")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "PROXY_TLS_MODE": "internal", "PROXY_API_HOST": HOST,
           "PROXY_GRAFANA_HOST": "grafana.test"}
    proc = subprocess.Popen([caddy, "run", "--config", str(config), "--adapter", "caddyfile"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            try:
                health = request(https_port, b"GET /v1/health HTTP/1.1\r\nHost: api.test\r\n\r\n")
                if health.startswith(b"HTTP/1.1 200"):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "caddy did not serve within 120 s"
            time.sleep(0.5)
        upstream.received.clear()
        yield https_port, upstream
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        upstream.close()


def request(port: int, raw: bytes) -> bytes:
    """Send `raw` over TLS (SNI api.test, Caddy's internal CA not verified) and return the response head."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock, \
            context.wrap_socket(sock, server_hostname=HOST) as tls:
        tls.sendall(raw)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except (OSError, ssl.SSLError):
            pass
        return answer


def test_proxy_refuses_oversized_requests_before_they_reach_the_api(proxy: tuple[int, Upstream]) -> None:
    port, upstream = proxy
    post = b"POST /v1/webhooks HTTP/1.1\r\nHost: api.test\r\nContent-Type: application/json\r\n"
    declared = request(port, post + b"Content-Length: 500000000\r\n\r\n" + b"x" * 65536)
    assert declared.startswith(b"HTTP/1.1 413"), declared
    assert b"application/problem+json" in declared.lower()
    chunked = request(port, post + b"Transfer-Encoding: chunked\r\n\r\n10000\r\n" + b"x" * 65536 + b"\r\n")
    assert chunked.startswith(b"HTTP/1.1 411"), chunked
    padding = b"X-Padding: " + b"a" * 40_000 + b"\r\n"
    headers = request(port, b"GET /v1/enterprises HTTP/1.1\r\nHost: api.test\r\n" + padding + b"\r\n")
    assert headers.startswith(b"HTTP/1.1 431"), headers
    assert bytes(upstream.received) == b""  # nothing of the three reached the API
    limit = request(port, post + b"Content-Length: 65536\r\n\r\n" + b"x" * 65536)
    assert limit.startswith(b"HTTP/1.1 200"), limit  # exactly the limit passes
    assert b"content-length: 65536" in bytes(upstream.received).lower()
