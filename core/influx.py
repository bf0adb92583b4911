"""A small client for InfluxDB's v1-compatible HTTP API (`/ping`, `/write`, `/query`).

The same calls work on InfluxDB 1.x, on 2.x (v1 compatibility with a DBRP mapping and a token)
and on 3.x, which is why the project talks to nothing else. Line protocol escaping comes from
influxdb-client's `Point` serialiser; HTTP from a pooled httpx client.
"""

from __future__ import annotations

import gzip as gzip_module
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from influxdb_client.client.write.point import Point

from core.measurements import READING
from core.settings import Settings, get_settings

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class InfluxError(RuntimeError):
    """InfluxDB refused a request or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def retryable(self) -> bool:
        """True when the same request may succeed later (server down, overloaded, timeout)."""
        return self.status is None or self.status in RETRYABLE_STATUS


@dataclass(frozen=True, slots=True)
class Series:
    """One series of an InfluxQL answer."""

    name: str
    columns: list[str]
    values: list[list[Any]]
    tags: dict[str, str] = field(default_factory=dict)

    def records(self) -> list[dict[str, Any]]:
        """The rows as dicts keyed by column, tags included."""
        return [{**self.tags, **dict(zip(self.columns, row, strict=True))} for row in self.values]


def line(
    measurement: str,
    tags: Mapping[str, str],
    fields: Mapping[str, float | int | str | bool],
    time_s: int | None = None,
) -> str:
    """One line of line protocol, escaped by influxdb-client's serialiser; time in epoch seconds."""
    point = Point(measurement)
    for key, value in tags.items():
        point.tag(key, value)
    for key, value in fields.items():
        point.field(key, value)
    if time_s is not None:
        point.time(int(time_s), "s")
    return point.to_line_protocol()


def quote_ident(name: str) -> str:
    """An InfluxQL identifier in double quotes."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_literal(value: str) -> str:
    """An InfluxQL string literal in single quotes."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def raw_source(rp: str | None = None) -> str:
    """The InfluxQL FROM target of raw readings: `"reading"` in the default retention policy, else
    `"<rp>"."reading"` (settings `influx_raw_rp`)."""
    if rp is None:
        return quote_ident(READING)
    return f"{quote_ident(rp)}.{quote_ident(READING)}"


class InfluxV1:
    """Client for one database on one InfluxDB server, over the v1-compatible API.

    `raw_rp` names the retention policy raw readings live in (None: the default one), so every reader of
    the raw layer gets it the same way it gets the database: from the client (`raw_source`).
    """

    def __init__(self, url: str, db: str, token: str | None = None, timeout: float = 10.0,
                 raw_rp: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.db = db
        self.raw_rp = raw_rp
        headers = {"Authorization": f"Token {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=timeout,
            limits=httpx.Limits(max_keepalive_connections=8, max_connections=16),
        )

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> InfluxV1:
        s = settings or get_settings()
        return cls(s.influx_url, s.influx_db, s.influx_token, raw_rp=s.influx_raw_rp)

    @property
    def raw_source(self) -> str:
        """The FROM target of raw readings for this client (`raw_source(self.raw_rp)`)."""
        return raw_source(self.raw_rp)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> InfluxV1:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ping(self) -> bool:
        """True when the server answers `/ping`."""
        try:
            return self._http.get("/ping", timeout=2.0).status_code == 204
        except httpx.HTTPError:
            return False

    def create_database(self) -> None:
        """Create the database (harmless when it exists; 2.x/3.x answer it through their DBRP mapping)."""
        self._post_query(f"CREATE DATABASE {quote_ident(self.db)}", with_db=False)

    def write(
        self, lines: str | bytes | Iterable[str], precision: str = "s", compress: bool = False,
        rp: str | None = None,
    ) -> None:
        """Write line protocol (into retention policy `rp`, default the database's default one); raises
        InfluxError (check `.retryable`) when it is not stored."""
        if isinstance(lines, str):
            body = lines.encode()
        elif isinstance(lines, bytes):
            body = lines
        else:
            body = "\n".join(lines).encode()
        if not body:
            return
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if compress:
            body = gzip_module.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        params = {"db": self.db, "precision": precision, **({"rp": rp} if rp else {})}
        try:
            response = self._http.post("/write", params=params, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise InfluxError(f"InfluxDB at {self.url} unreachable: {exc!r}") from exc
        if response.status_code != 204:
            raise InfluxError(
                f"InfluxDB write refused ({response.status_code}): {response.text[:300]}",
                response.status_code,
            )

    def query(self, q: str, epoch: str = "s", rp: str | None = None) -> list[Series]:
        """Run one InfluxQL statement and return its series (an error in the answer raises); `rp`: the retention
        policy for sources that name none (meta queries such as SHOW FIELD KEYS: InfluxDB 2.x picks the
        DBRP mapping by it)."""
        params = {"db": self.db, "q": q, "epoch": epoch, **({"rp": rp} if rp else {})}
        try:
            response = self._http.get("/query", params=params)
        except httpx.HTTPError as exc:
            raise InfluxError(f"InfluxDB at {self.url} unreachable: {exc!r}") from exc
        return _series_of(response, q)

    def execute(self, q: str) -> list[Series]:
        """Run a statement that changes the database (DROP, DELETE, CREATE …) as a POST, which InfluxDB asks
        for anything but SELECT and SHOW."""
        return self._post_query(q)

    def _post_query(self, q: str, with_db: bool = True) -> list[Series]:
        params = {"q": q, **({"db": self.db} if with_db else {})}
        try:
            response = self._http.post("/query", params=params)
        except httpx.HTTPError as exc:
            raise InfluxError(f"InfluxDB at {self.url} unreachable: {exc!r}") from exc
        return _series_of(response, q)


def _series_of(response: httpx.Response, q: str) -> list[Series]:
    if response.status_code != 200:
        raise InfluxError(f"InfluxQL {q[:120]!r} refused ({response.status_code}): {response.text[:300]}",
                          response.status_code)
    out: list[Series] = []
    for result in response.json().get("results", []):
        if "error" in result:
            raise InfluxError(f"InfluxQL {q[:120]!r}: {result['error']}", 400)
        for s in result.get("series", []):
            out.append(Series(s.get("name", ""), s["columns"], s.get("values", []), s.get("tags", {})))
    return out
