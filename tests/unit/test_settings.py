"""Settings: environment beats the TOML file beats `.run/env` beats defaults; bad files name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import ConfigFileError, load_settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in [
        "ENERDIAG_MQTT_URL",
        "ENERDIAG_INFLUX_URL",
        "ENERDIAG_INFLUX_DB",
        "ENERDIAG_INFLUX_TOKEN",
        "ENERDIAG_DB_URL",
        "ENERDIAG_DATA_DIR",
        "ENERDIAG_CONFIG",
    ]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENERDIAG_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults(clean_env: Path) -> None:
    s = load_settings()
    assert s.mqtt_url == "mqtt://127.0.0.1:1883"
    assert s.influx_db == "energy"
    assert s.influx_token is None
    assert s.registry_url == f"sqlite:///{(clean_env / 'run/data/registry.sqlite3')}"


def test_run_env_file_is_read(clean_env: Path) -> None:
    run = clean_env / "run"
    run.mkdir()
    (run / "env").write_text("ENERDIAG_MQTT_URL=mqtt://127.0.0.1:41883\nENERDIAG_INFLUX_URL=http://127.0.0.1:48086/\n")
    s = load_settings()
    assert s.mqtt_url == "mqtt://127.0.0.1:41883"
    assert s.influx_url == "http://127.0.0.1:48086"  # trailing slash removed


def test_precedence_env_over_toml_over_run_env(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = clean_env / "run"
    run.mkdir()
    (run / "env").write_text("ENERDIAG_INFLUX_DB=from_run_env\nENERDIAG_MQTT_URL=mqtt://run:1\n")
    (clean_env / "enerdiag.toml").write_text('influx_db = "from_toml"\n')
    assert load_settings().influx_db == "from_toml"
    assert load_settings().mqtt_url == "mqtt://run:1"
    monkeypatch.setenv("ENERDIAG_INFLUX_DB", "from_env")
    assert load_settings().influx_db == "from_env"


def test_toml_with_enerdiag_table_and_named_file(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = clean_env / "city.toml"
    cfg.write_text('[enerdiag]\ninflux_url = "https://influx.example:8086"\ninflux_token = "t0k"\n')
    monkeypatch.setenv("ENERDIAG_CONFIG", str(cfg))
    s = load_settings()
    assert s.influx_url == "https://influx.example:8086"
    assert s.influx_token == "t0k"


def test_bad_toml_names_the_line(clean_env: Path) -> None:
    (clean_env / "enerdiag.toml").write_text('influx_db = "ok"\nmqtt_url = mqtt://no-quotes\n')
    with pytest.raises(ConfigFileError, match=r"enerdiag\.toml.*line 2"):
        load_settings()


def test_unknown_toml_key_names_key_and_line(clean_env: Path) -> None:
    (clean_env / "enerdiag.toml").write_text('influx_db = "ok"\n\ninflux_bucket = "x"\n')
    with pytest.raises(ConfigFileError, match=r"enerdiag\.toml:3: unknown setting 'influx_bucket'"):
        load_settings()


def test_bad_url_scheme_rejected(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENERDIAG_MQTT_URL", "http://127.0.0.1:1883")
    with pytest.raises(ValueError, match="mqtt_url"):
        load_settings()


def test_db_url_overrides_sqlite(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENERDIAG_DB_URL", "postgresql+psycopg://u@127.0.0.1:5432/reg")
    assert load_settings().registry_url == "postgresql+psycopg://u@127.0.0.1:5432/reg"
