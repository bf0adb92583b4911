"""InfluxDB 1.x (`influxd`) on loopback with every dir and bind address inside its workdir; probed by /ping."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from enerdiag.localservices import procs
from enerdiag.localservices.server import LOOPBACK, Server, ServiceError

SECTION = re.compile(r"^\s*\[\[?([^\]]+)\]\]?\s*$")
SETTING = re.compile(r"^(\s*)([A-Za-z0-9_-]+)\s*=\s*(.*)$")


def rewrite_influx_config(default: str, workdir: Path, http_port: int, rpc_port: int) -> str:
    """Rewrite `influxd config` output: all dirs under `workdir`, all listeners on loopback, no reporting.

    Every `bind-address` is rewritten (the top-level one is the RPC port, 8088 by default), so a
    second influxd on the machine never collides with ours. Raises ValueError if a key is missing.
    """
    want = {
        ("", "reporting-enabled"): "false",
        ("", "bind-address"): f'"{LOOPBACK}:{rpc_port}"',
        ("meta", "dir"): f'"{workdir}/meta"',
        ("data", "dir"): f'"{workdir}/data"',
        ("data", "wal-dir"): f'"{workdir}/wal"',
        ("data", "query-log-enabled"): "false",
        ("monitor", "store-enabled"): "false",
        ("http", "bind-address"): f'"{LOOPBACK}:{http_port}"',
        ("http", "log-enabled"): "false",
        ("http", "unix-socket-enabled"): "false",
        ("http", "bind-socket"): f'"{workdir}/influxd.sock"',
        ("logging", "suppress-logo"): "true",
    }
    seen: set[tuple[str, str]] = set()
    section = ""
    out: list[str] = []
    for line in default.splitlines():
        header = SECTION.match(line)
        setting = None if header else SETTING.match(line)
        if header:
            section = header.group(1).strip()
        elif setting:
            indent, key, value = setting.groups()
            if (section, key) in want:
                line = f"{indent}{key} = {want[(section, key)]}"
                seen.add((section, key))
            elif key == "bind-address":  # graphite, collectd, opentsdb, udp, ifql: loopback (and disabled)
                port = value.strip().strip('"').rsplit(":", 1)[-1]
                line = f'{indent}{key} = "{LOOPBACK}:{port}"'
            elif key.endswith("dir"):
                raise ValueError(f"influxd config: unexpected directory setting [{section}] {key}")
        out.append(line)
    missing = sorted(f"[{s}] {k}" for s, k in set(want) - seen)
    if missing:
        raise ValueError(f"influxd config: settings not found to rewrite: {', '.join(missing)}")
    return "\n".join(out) + "\n"


class InfluxD(Server):
    """InfluxDB 1.x on 127.0.0.1:`port` (RPC on `rpc_port`; free ones if None); meta/data/wal in `workdir`."""

    name = "influxd"
    program = "influxd"
    packages = ("influxdb",)

    def __init__(self, workdir: Path | str, port: int | None = None, rpc_port: int | None = None) -> None:
        super().__init__(workdir, port)
        self.rpc_port = rpc_port

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def config_path(self) -> Path:
        """The generated influxdb.conf."""
        return self.workdir / "influxdb.conf"

    @property
    def marker(self) -> str:
        return str(self.config_path)

    def _extra_ports(self) -> list[int]:
        if self.rpc_port is None:
            self.rpc_port = procs.free_port()
            while self.rpc_port == self.port:
                self.rpc_port = procs.free_port()
        return [self.rpc_port]

    def _prepare(self, binary: str) -> list[str]:
        assert self.port is not None and self.rpc_port is not None
        default = subprocess.run(
            [binary, "config", "-config", "/dev/null"], capture_output=True, text=True, check=False
        )
        if default.returncode != 0:
            raise ServiceError(f"influxd config failed (exit {default.returncode})", default.stderr[-2000:])
        try:
            text = rewrite_influx_config(default.stdout, self.workdir, self.port, self.rpc_port)
        except ValueError as exc:
            raise ServiceError(str(exc)) from exc
        self.config_path.write_text(text)
        return [binary, "-config", str(self.config_path)]

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=2) as response:
                return response.status == 204
        except (OSError, urllib.error.URLError):
            return False

    def query(self, q: str, db: str | None = None) -> dict[str, Any]:
        """POST an InfluxQL statement to /query; raises ServiceError when InfluxDB reports an error."""
        params = {"q": q, **({"db": db} if db else {})}
        body = urllib.parse.urlencode(params).encode()
        try:
            with urllib.request.urlopen(f"{self.url}/query", data=body, timeout=10) as response:
                result: dict[str, Any] = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise ServiceError(f"influxd {self.url}: {q!r} failed: HTTP {exc.code} {exc.read()[:300]!r}") from exc
        except OSError as exc:
            raise ServiceError(f"influxd {self.url}: {q!r} failed: {exc}") from exc
        errors = [r["error"] for r in result.get("results", []) if "error" in r]
        if errors:
            raise ServiceError(f"influxd {self.url}: {q!r} failed: {errors[0]}")
        return result

    def create_database(self, name: str) -> None:
        """CREATE DATABASE (idempotent in InfluxDB 1.x)."""
        self.query(f'CREATE DATABASE "{name}"')

    def state(self) -> dict[str, Any]:
        return {**super().state(), "rpc_port": self.rpc_port}

    @classmethod
    def from_state(cls, entry: dict[str, Any]) -> InfluxD:
        server = super().from_state(entry)
        server.rpc_port = entry.get("rpc_port")
        return server
