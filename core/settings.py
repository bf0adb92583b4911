"""Settings for every enerdiag process: `ENERDIAG_*` environment, `.run/env`, an optional TOML file.

Precedence (highest first): real environment variables, the TOML file named by
`ENERDIAG_CONFIG` (or `enerdiag.toml` in the working directory), the `.run/env` file that
`enerdiag services up` writes, then the defaults below.
"""

from __future__ import annotations

import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX = "ENERDIAG_"
DEFAULT_RUN_DIR = Path(".run")
RP_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
"""A retention policy name the settings accept: a plain identifier (no quoting surprises in InfluxQL or URLs)."""
RP_DURATION_PATTERN = re.compile(r"INF|(?:[1-9][0-9]*(?:ns|us|u|ms|s|m|h|d|w))+")
"""An InfluxQL retention duration: INF or one or more number+unit parts (730d, 1h30m)."""


class ConfigFileError(ValueError):
    """A settings file that cannot be used; the message names the file and line."""


def run_dir() -> Path:
    """Directory for local service state and the `env` file (`ENERDIAG_RUN_DIR`, default `.run`)."""
    return Path(os.environ.get(f"{ENV_PREFIX}RUN_DIR", DEFAULT_RUN_DIR))


def config_file() -> Path | None:
    """The TOML settings file in force, if any."""
    named = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if named:
        return Path(named)
    local = Path("enerdiag.toml")
    return local if local.exists() else None


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML settings file; errors name the file and the line (tomllib reports it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot read settings file: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"{path}: {exc}") from exc
    # accept both a flat file and one with an [enerdiag] table
    return dict(data.get("enerdiag", data))


class _TomlSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        path = config_file()
        self._data = read_toml(path) if path else {}
        unknown = sorted(set(self._data) - set(settings_cls.model_fields))
        if unknown:
            line = _line_of(path, unknown[0]) if path else None
            where = f"{path}:{line}" if line else str(path)
            raise ConfigFileError(
                f"{where}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(settings_cls.model_fields))})"
            )

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._data.items() if v is not None}


def _line_of(path: Path, key: str) -> int | None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip().startswith(key) and "=" in line:
            return number
    return None


class Settings(BaseSettings):
    """Where the services are and where local state lives."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=None,  # set per instance in load_settings (run dir may change)
        extra="ignore",
    )

    mqtt_url: str = Field("mqtt://127.0.0.1:1883", description="MQTT broker, mqtt://[user:pass@]host:port")
    mqtt_client_id: str = Field("enerdiag-collector", description="fixed client id for the persistent session")
    safety_mqtt_url: str | None = Field(
        None, description="the safety watcher's broker URL with its own account; default ENERDIAG_MQTT_URL "
        "only when that URL carries no account"
    )
    influx_url: str = Field("http://127.0.0.1:8086", description="InfluxDB base URL (v1-compatible API)")
    influx_db: str = Field("energy", description="InfluxDB database (bucket via DBRP mapping on 2.x/3.x)")
    influx_token: str | None = Field(None, description="token for InfluxDB 2.x/3.x v1-compatible API")
    influx_raw_rp: str | None = Field(
        None, description="retention policy for raw `reading` points (own expiry); default: the database's default RP"
    )
    influx_raw_rp_duration: str = Field(
        "INF", description="duration `enerdiag services up` gives influx_raw_rp (InfluxQL: 730d, 104w, INF)"
    )
    db_url: str | None = Field(None, description="SQLAlchemy URL of the registry; default SQLite in data_dir")
    data_dir: Path = Field(
        default_factory=lambda: run_dir() / "data", description="spool, dead letters, reports, SQLite registry"
    )
    reference_override: Path | None = Field(None, description="YAML file overriding reference values")

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_scheme(cls, value: str) -> str:
        if not value.startswith(("mqtt://", "mqtts://", "tcp://")):
            raise ValueError("must start with mqtt://, mqtts:// or tcp://")
        return value

    @field_validator("safety_mqtt_url")
    @classmethod
    def _safety_mqtt_scheme(cls, value: str | None) -> str | None:
        return cls._mqtt_scheme(value) if value else None

    @field_validator("influx_url")
    @classmethod
    def _http_scheme(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("influx_raw_rp")
    @classmethod
    def _plain_rp(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not RP_PATTERN.fullmatch(value):
            raise ValueError(f"{value!r} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*, at most 64)")
        return value

    @field_validator("influx_raw_rp_duration")
    @classmethod
    def _rp_duration(cls, value: str) -> str:
        if not RP_DURATION_PATTERN.fullmatch(value):
            raise ValueError(f"{value!r} is not an InfluxQL duration (e.g. 730d, 104w, 8760h, INF)")
        return value

    @property
    def registry_url(self) -> str:
        """The registry's SQLAlchemy URL (SQLite under data_dir unless `db_url` is set)."""
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.data_dir / 'registry.sqlite3').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls), dotenv_settings)


def load_settings(**overrides: Any) -> Settings:
    """Build settings fresh from the environment, the TOML file and `.run/env`."""
    env_file = run_dir() / "env"
    return Settings(_env_file=env_file if env_file.exists() else None, **overrides)  # type: ignore[call-arg]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings (cached; call `get_settings.cache_clear()` after changing the env)."""
    return load_settings()
