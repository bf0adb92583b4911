"""`enerdiag registry load`: errors name FILE:LINE and the field, bad files are rejected whole, reloads are no-ops."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, select
from typer.testing import CliRunner

from core.registry.db import dispose_engines, session_scope
from core.registry.hashing import mosquitto_hash, mosquitto_verify
from core.registry.loader import RegistryFileError, load_registry_file
from core.registry.models import Base, Consent, Enterprise, Gateway, Meter, MeterEvent, Product
from core.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "registry-datong.yaml"
QUOTA_KEYS = {"cement_clinker", "cement", "coke_top_charged", "ceramic_tile_dry_0_5_to_10", "ferrosilicon"}
CODE = "91140214MA0FE1KM73"  # valid (made with complete_credit_code)
CODE2 = "91140226MA02U9AL2Q"

MINIMAL = f"""\
enterprises:
  - code: {CODE}
    name: 大同市云冈示例水泥有限公司
    industry: "3011"
    county: 云冈区
    product: cement_clinker
    gateways:
      - id: gw1
        password: first-secret
    meters:
      - id: M01
        carrier: electricity
        role: main
        multiplier: 200
      - id: O01
        carrier: output
        role: process
banks:
  - id: bank-a
    name: 示例银行大同分行
consents:
  - enterprise: {CODE}
    bank: bank-a
    scopes: [profile, credit]
    until: 2027-12-31
"""


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    dispose_engines()


def write(tmp_path: Path, text: str, name: str = "registry.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    hits = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line]
    return hits[occurrence - 1]


def load(url: str, path: Path, known: set[str] | None = QUOTA_KEYS):
    with session_scope(url) as session:
        return load_registry_file(session, path, known)


def errors_of(url: str, path: Path, known: set[str] | None = QUOTA_KEYS) -> list[str]:
    with pytest.raises(RegistryFileError) as info:
        load(url, path, known)
    return info.value.errors


def snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every registry table, for comparing database states."""
    with session_scope(url) as session:
        out = {}
        for table in Base.metadata.sorted_tables:
            rows = session.execute(select(table)).all()
            out[table.name] = sorted(tuple(map(repr, row)) for row in rows)
        return out


# ---------------------------------------------------------------- the example file and idempotence


def test_example_city_loads_cleanly_and_reloading_changes_nothing(db_url: str) -> None:
    summary = load(db_url, EXAMPLE)
    assert summary.counts["enterprises"] == 6
    assert summary.counts["banks"] == 1
    assert summary.updated == 0
    first = snapshot(db_url)
    again = load(db_url, EXAMPLE)
    assert (again.created, again.updated) == (0, 0)
    assert snapshot(db_url) == first
    with session_scope(db_url) as session:
        industries = {e.industry for e in session.scalars(select(Enterprise))}
        assert {"3011", "2521", "3071", "1371", "3441", "5930"} <= industries
        carriers = {m.carrier for m in session.scalars(select(Meter))}
        assert {"electricity", "natural_gas", "coal", "steam", "output", "temperature", "water"} <= carriers
        assert session.scalars(select(Meter).where(Meter.role == "safety")).first() is not None
        tile = session.get(Meter, (CODE.replace("91140214MA0FE1KM73", "91140223MA07LL937U"), "O01"))
        assert tile is not None and tile.unit == "m2"
        event = session.scalars(select(MeterEvent)).one()
        assert event.kind == "replaced"
        assert event.at == dt.datetime(2026, 3, 15, 2, 0, tzinfo=dt.UTC)  # 10:00 +08:00


def test_unchanged_password_keeps_its_hash_and_a_changed_one_is_rehashed(db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    load(db_url, path)
    with session_scope(db_url) as session:
        first_hash = session.get(Gateway, (CODE, "gw1")).password_hash
    assert first_hash.startswith("$7$") and mosquitto_verify("first-secret", first_hash)
    load(db_url, path)
    with session_scope(db_url) as session:
        assert session.get(Gateway, (CODE, "gw1")).password_hash == first_hash  # same salt: not re-hashed
    load(db_url, write(tmp_path, MINIMAL.replace("first-secret", "second-secret")))
    with session_scope(db_url) as session:
        new_hash = session.get(Gateway, (CODE, "gw1")).password_hash
    assert new_hash != first_hash
    assert mosquitto_verify("second-secret", new_hash) and not mosquitto_verify("first-secret", new_hash)


def test_password_hash_is_stored_as_given_and_no_password_keeps_the_old_hash(db_url: str, tmp_path: Path) -> None:
    given = mosquitto_hash("from-elsewhere")
    load(db_url, write(tmp_path, MINIMAL.replace("password: first-secret", f"password_hash: '{given}'")))
    with session_scope(db_url) as session:
        assert session.get(Gateway, (CODE, "gw1")).password_hash == given
    load(db_url, write(tmp_path, MINIMAL.replace("        password: first-secret\n", "")))
    with session_scope(db_url) as session:
        assert session.get(Gateway, (CODE, "gw1")).password_hash == given


def test_defaults_single_gateway_unit_multiplier_and_enterprise_product(db_url: str, tmp_path: Path) -> None:
    load(db_url, write(tmp_path, MINIMAL))
    with session_scope(db_url) as session:
        m01, o01 = session.get(Meter, (CODE, "M01")), session.get(Meter, (CODE, "O01"))
        assert (m01.gateway_id, m01.unit, m01.multiplier) == ("gw1", "kWh", 200.0)
        assert (o01.product, o01.unit, o01.multiplier) == ("cement_clinker", "t", 1.0)
        assert session.get(Enterprise, CODE).timezone == "Asia/Shanghai"
        assert session.get(Product, "cement_clinker").quota_key == "cement_clinker"
        consent = session.scalars(select(Consent)).one()
        assert consent.scopes == ["profile", "credit"] and consent.until == dt.date(2027, 12, 31)


def test_changed_values_are_updated_in_place(db_url: str, tmp_path: Path) -> None:
    load(db_url, write(tmp_path, MINIMAL))
    summary = load(db_url, write(tmp_path, MINIMAL.replace("multiplier: 200", "multiplier: 400")))
    assert (summary.created, summary.updated) == (0, 1)
    with session_scope(db_url) as session:
        assert session.get(Meter, (CODE, "M01")).multiplier == 400.0
        assert len(session.scalars(select(Consent)).all()) == 1


# ---------------------------------------------------------------- errors: FILE:LINE, field path, why


def test_unknown_keys_are_named_with_their_line(db_url: str, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        MINIMAL.replace("        multiplier: 200", "        multiplier: 200\n        ct_ratio: 40").replace(
            "banks:", "bankz: []\nbanks:"
        ),
    )
    errors = errors_of(db_url, path)
    expected = f"{path}:{line_of(path, 'ct_ratio')}: enterprises[0].meters[0].ct_ratio: unknown key 'ct_ratio'"
    assert expected in "\n".join(errors)
    assert any(e.startswith(f"{path}:{line_of(path, 'bankz')}: (top).bankz: unknown key 'bankz'") for e in errors)


def test_invalid_credit_code_says_why_and_where(db_url: str, tmp_path: Path) -> None:
    bad = CODE[:-1] + "4"
    path = write(tmp_path, MINIMAL.replace(f"  - code: {CODE}", f"  - code: {bad}"))
    errors = errors_of(db_url, path)
    line = line_of(path, f"code: {bad}")
    assert any(
        e.startswith(f"{path}:{line}: enterprises[0].code: invalid credit code")
        and "position 18: '4', expected '3'" in e
        for e in errors
    ), errors
    # the consent (still naming the good code) now refers to an enterprise in neither the file nor the registry:
    # reported in the same run, on its own line
    line = line_of(path, f"enterprise: {CODE}")
    assert f"{path}:{line}: consents[0].enterprise: enterprise {CODE} is not in the file or the registry" in errors


def test_references_to_nothing_are_errors(db_url: str, tmp_path: Path) -> None:
    text = (
        MINIMAL.replace("        role: main\n", "        role: main\n        gateway: gw9\n")
        .replace("        role: process\n", "        role: process\n        parent: M99\n")
        .replace("    bank: bank-a", "    bank: bank-b")
    )
    path = write(tmp_path, text)
    errors = errors_of(db_url, path)
    joined = "\n".join(errors)
    assert f"{path}:{line_of(path, 'gateway: gw9')}: enterprises[0].meters[0].gateway: gateway 'gw9'" in joined
    assert f"{path}:{line_of(path, 'parent: M99')}: enterprises[0].meters[1].parent: meter 'M99'" in joined
    assert f"{path}:{line_of(path, 'bank: bank-b')}: consents[0].bank: bank 'bank-b' is not in the file" in joined


def test_consent_may_refer_to_rows_already_in_the_registry(db_url: str, tmp_path: Path) -> None:
    load(db_url, write(tmp_path, MINIMAL))
    only_consent = f"consents:\n  - {{enterprise: {CODE}, bank: bank-a, scopes: [series], until: 2028-01-31}}\n"
    load(db_url, write(tmp_path, only_consent, "consent.yaml"))
    with session_scope(db_url) as session:
        assert session.scalars(select(Consent)).one().scopes == ["series"]


def test_field_value_errors_name_line_and_path(db_url: str, tmp_path: Path) -> None:
    text = (
        MINIMAL.replace('industry: "3011"', "industry: 301")
        .replace("county: 云冈区", "county: 云冈区\n    timezone: Asia/Datong")
        .replace("carrier: electricity", "carrier: electric")
        .replace("scopes: [profile, credit]", "scopes:\n      - profile\n      - loans")
        .replace("until: 2027-12-31", "until: someday")
    )
    path = write(tmp_path, text)
    joined = "\n".join(errors_of(db_url, path))
    assert f"{path}:{line_of(path, 'industry: 301')}: enterprises[0].industry: 301 is not a 4-digit" in joined
    assert f"{path}:{line_of(path, 'Asia/Datong')}: enterprises[0].timezone: 'Asia/Datong' is not an IANA" in joined
    assert f"{path}:{line_of(path, 'electric')}: enterprises[0].meters[0].carrier: 'electric' is not one of" in joined
    assert f"{path}:{line_of(path, '- loans')}: consents[0].scopes: unknown scope 'loans'" in joined
    assert f"{path}:{line_of(path, 'someday')}: consents[0].until: 'someday' is not a date" in joined


def test_missing_required_keys_and_duplicates(db_url: str, tmp_path: Path) -> None:
    text = MINIMAL.replace("    county: 云冈区\n", "").replace(
        "      - id: O01", "      - id: M01\n        carrier: water\n        role: sub\n      - id: O01"
    )
    path = write(tmp_path, text)
    joined = "\n".join(errors_of(db_url, path))
    assert f"{path}:{line_of(path, 'code: ')}: enterprises[0].county: required key missing" in joined
    assert f"{path}:{line_of(path, 'id: M01', 2)}: enterprises[0].meters[1].id: meter 'M01' given twice" in joined


def test_output_meter_needs_a_product_known_to_the_quota_data(db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("    product: cement_clinker\n", ""))
    assert any("enterprises[0].meters[1].product: required for an output meter" in e for e in errors_of(db_url, path))
    path = write(tmp_path, MINIMAL.replace("product: cement_clinker", "product: portland_magic"))
    joined = "\n".join(errors_of(db_url, path))
    assert f"{path}:{line_of(path, 'portland_magic')}: enterprises[0].product: product 'portland_magic'" in joined
    # declared under products: it is accepted without a quota
    declared = "products:\n  - {key: portland_magic, name: 特种水泥}\n" + MINIMAL.replace(
        "product: cement_clinker", "product: portland_magic"
    )
    load(db_url, write(tmp_path, declared))
    with session_scope(db_url) as session:
        product = session.get(Product, "portland_magic")
        assert product.name == "特种水泥" and product.quota_key is None


def test_yaml_syntax_and_duplicate_keys_name_the_line(db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("    name: 大同市云冈示例水泥有限公司", "    name: [unclosed"))
    errors = errors_of(db_url, path)
    assert len(errors) == 1 and "not valid YAML" in errors[0] and errors[0].startswith(f"{path}:")
    path = write(tmp_path, MINIMAL.replace("    county: 云冈区", "    county: 云冈区\n    county: 平城区"))
    (error,) = errors_of(db_url, path)
    assert error.startswith(f"{path}:{line_of(path, '平城区')}: key 'county' given twice")


def test_a_bad_file_is_rejected_whole(db_url: str, tmp_path: Path) -> None:
    load(db_url, write(tmp_path, MINIMAL))
    before = snapshot(db_url)
    # many valid changes plus one error at the very end of the file: nothing at all may be written
    text = (
        MINIMAL.replace("大同市云冈示例水泥有限公司", "改名后的公司")
        .replace("first-secret", "other-secret")
        .replace("multiplier: 200", "multiplier: 300")
        + f"  - {{enterprise: {CODE2}, bank: bank-a, scopes: [profile], until: 2027-01-01}}\n"
    )
    path = write(tmp_path, text)
    (error,) = errors_of(db_url, path)
    assert f"{path}:{line_of(path, CODE2)}: consents[1].enterprise: enterprise {CODE2} is not in the file" in error
    assert snapshot(db_url) == before


def test_empty_and_non_mapping_files(db_url: str, tmp_path: Path) -> None:
    assert "empty file" in errors_of(db_url, write(tmp_path, ""))[0]
    assert "(top): must be a mapping" in errors_of(db_url, write(tmp_path, "- a\n- b\n"))[0]


# ---------------------------------------------------------------- the command


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ENERDIAG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ENERDIAG_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.delenv("ENERDIAG_DB_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
    dispose_engines()


def test_cli_load_prints_a_summary_and_exits_2_on_a_bad_file(cli_env: Path) -> None:
    from enerdiag.cli import app

    runner = CliRunner()
    ok = runner.invoke(app, ["registry", "load", str(EXAMPLE)])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.strip().startswith(f"loaded {EXAMPLE}: 6 enterprises, 7 gateways")
    assert len(ok.stdout.strip().splitlines()) == 1
    db = cli_env / "data" / "registry.sqlite3"
    assert (
        db.exists()
        and "enterprises" in inspect(__import__("sqlalchemy").create_engine(f"sqlite:///{db}")).get_table_names()
    )

    bad = write(cli_env, MINIMAL.replace("role: main", "role: boss"), "bad.yaml")
    result = runner.invoke(app, ["registry", "load", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:{line_of(bad, 'role: boss')}: enterprises[0].meters[0].role: 'boss' is not one of" in result.stderr
    assert "nothing written" in result.stderr

    dry = runner.invoke(app, ["registry", "load", "--dry-run", str(write(cli_env, MINIMAL, "new.yaml"))])
    assert dry.exit_code == 0 and "dry run, nothing written" in dry.stdout
    with session_scope(f"sqlite:///{db}") as session:
        assert session.get(Enterprise, CODE).name == "大同市云冈示例水泥有限公司"  # the example's, not changed
        assert session.get(Gateway, (CODE, "gw1")) is None  # the dry run wrote nothing


def test_default_known_products_come_from_the_packaged_quota_reference(db_url: str, tmp_path: Path) -> None:
    with session_scope(db_url) as session:
        load_registry_file(session, EXAMPLE)  # default: the packaged quota_standards.yaml
    with session_scope(db_url) as session:
        assert session.get(Product, "cement_clinker").quota_key == "cement_clinker"
        assert session.get(Product, "dried_daylily").quota_key is None
    unknown = write(tmp_path, MINIMAL.replace("product: cement_clinker", "product: no_such_product"))
    with pytest.raises(RegistryFileError, match="'no_such_product' is neither declared"), session_scope(db_url) as s:
        load_registry_file(s, unknown)
    with session_scope(db_url) as session:  # None: any key accepted, recorded as a quota key
        load_registry_file(session, unknown, None)
        assert session.get(Product, "no_such_product").quota_key == "no_such_product"
