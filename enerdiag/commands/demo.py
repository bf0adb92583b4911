"""`enerdiag demo`: the main job end to end on the local services.

The demo drives the platform through its own command line, so it proves the same paths an
operator uses: a simulated city is registered, its gateways publish over MQTT, the collector
stores the readings in InfluxDB, and the demo reads them back (then rollups, analysis and the
report as those parts land). Each step says what it did; a step whose part is not built yet says so.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import yaml

from core.settings import load_settings, run_dir
from enerdiag.errors import fail

if TYPE_CHECKING:
    from core.influx import InfluxV1


def _enerdiag(*args: str, capture: bool = False, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run an enerdiag sub-command in a child process (the same command an operator types)."""
    cmd = [sys.executable, "-m", "enerdiag", *args]
    typer.secho("$ enerdiag " + " ".join(args), fg=typer.colors.BRIGHT_BLACK)
    result = subprocess.run(cmd, text=True, capture_output=capture)
    if check and result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()[-1:] if capture else []
        fail(f"'enerdiag {' '.join(args)}' failed (exit {result.returncode}) {' '.join(detail)}")
    return result


def _step(title: str) -> None:
    typer.secho(f"\n== {title}", fg=typer.colors.CYAN, bold=True)


def _enterprise_regex(codes: list[str]) -> str:
    return "/^(" + "|".join(codes) + ")$/"  # credit codes: digits and capitals only, nothing to escape


def _count_readings(client: InfluxV1, codes: list[str]) -> int:
    series = client.query(f'SELECT count("energy_kwh") FROM {client.raw_source} '
                          f'WHERE "enterprise" =~ {_enterprise_regex(codes)}')
    return int(series[0].values[0][1]) if series and series[0].values else 0


def _forget_previous_run(client: InfluxV1, codes: list[str]) -> None:
    """Drop every series of the simulated enterprises, so a second `make demo` proves its own run: the
    simulator is seeded, and rewriting the same points would leave the counts unchanged."""
    client.execute(f'DROP SERIES WHERE "enterprise" =~ {_enterprise_regex(codes)}')


def _injected_problems(truth: Path) -> dict[str, list[str]]:
    """The problems the simulator injected, per enterprise (its ground-truth manifest)."""
    manifest = json.loads(truth.read_text())
    return {
        plant["enterprise"]: sorted(p["code"] for p in plant.get("problems", []))
        for plant in manifest.get("plants", [])
    }


def run_demo(plants: int, days: int, seed: int, timeout_s: float) -> None:
    from core.influx import InfluxV1

    settings = load_settings()
    client = InfluxV1.from_settings(settings)
    if not client.ping():
        fail(f"InfluxDB does not answer at {settings.influx_url}: run 'enerdiag services up' first")
    client.create_database()
    out = run_dir() / "demo"
    out.mkdir(parents=True, exist_ok=True)
    city, truth, messages = out / "city.yaml", out / "truth.json", out / "messages.jsonl"
    weather = out / "weather.csv"
    sim_args = ["--plants", str(plants), "--days", str(days), "--seed", str(seed), "--safety-faults"]

    _step("1/8 Simulated city: registry file and ground truth (模拟城市：企业登记与问题真值)")
    _enerdiag(
        "simulate", "city", *sim_args, "--registry-out", str(city), "--truth-out", str(truth),
        "--dry-run", "--out", str(messages), "--weather-out", str(weather),
    )
    expected = sum(
        sum(1 for r in json.loads(m)["payload"]["readings"] if "energy_kwh" in r.get("values", {}))
        for m in messages.read_text().splitlines()
        if m.strip()
    )
    typer.echo(f"   {city} · {truth} · {expected} electricity readings to publish")

    _step("2/8 Registry and outdoor temperature (企业登记与气温)")
    _enerdiag("registry", "load", str(city))
    counties = sorted({e["county"] for e in yaml.safe_load(city.read_text(encoding="utf-8"))["enterprises"]})
    _enerdiag("weather", "import", str(weather), *(f"--county={county}" for county in counties))

    _step("3/8 Collector + gateways over MQTT (采集：网关 → Mosquitto → InfluxDB)")
    codes = sorted(plant["enterprise"] for plant in json.loads(truth.read_text())["plants"])
    _forget_previous_run(client, codes)
    before = _count_readings(client, codes)
    collector = subprocess.Popen([sys.executable, "-m", "enerdiag", "collect"])
    try:
        time.sleep(1.5)
        _enerdiag("simulate", "city", *sim_args)
        deadline = time.monotonic() + timeout_s
        stored = _count_readings(client, codes)
        while stored - before < expected and time.monotonic() < deadline:
            time.sleep(0.5)
            stored = _count_readings(client, codes)
    finally:
        collector.send_signal(signal.SIGTERM)
        collector.wait(timeout=60)
    typer.echo(f"   read back from InfluxDB: {stored - before} new electricity readings (expected {expected})")
    if stored - before < expected:
        fail(f"only {stored - before} of {expected} readings reached InfluxDB within {timeout_s:.0f} s")

    _step("4/8 Rollups (小时/日/月用能汇总)")
    _enerdiag("rollup")

    _step("5/8 Analysis: energy, tce, CO2, quota (能耗、折标煤、碳排放、限额对标)")
    analysis = out / "analysis.json"
    today = dt.date.today()
    period = ["--from", (today - dt.timedelta(days=days)).isoformat(), "--to", today.isoformat()]
    result = _enerdiag("analyze", *period, "--json", capture=True)
    analysis.write_text(result.stdout)
    rows = json.loads(result.stdout)
    injected = _injected_problems(truth)
    for row in rows:
        quota = row.get("quota") or {}
        codes = ",".join(f["code"] for f in row.get("findings", [])) or "-"
        intensity = row.get("intensity_kgce_per_t")
        typer.echo(
            f"   {row['enterprise']}  tce={row.get('tce', 0):9.1f}  co2_t={_one_decimal(row.get('co2_t')):>9}  "
            f"kgce/t={intensity if intensity is None else round(intensity, 1)!s:>7}  "
            f"quota={quota.get('status', 'n/a'):10}  findings={codes}  "
            f"(injected: {','.join(injected.get(row['enterprise'], [])) or '-'})"
        )

    _step("6/8 Electrical safety and diagnosis reports (电气安全报警与节能诊断报告)")
    _enerdiag("safety", "scan", *period)
    alarms = json.loads(_enerdiag("alarms", "--json", capture=True).stdout)
    typer.echo(f"   {len(alarms)} electrical-safety alarm(s) from the injected safety faults (enerdiag alarms)")
    worst = max(rows, key=lambda r: sum(f.get("savings_cny") or 0 for f in r.get("findings", [])))
    enterprise_report = out / f"report-{worst['enterprise']}.pdf"
    city_report = out / "report-city.html"
    _enerdiag("report", worst["enterprise"], *period, "--format", "pdf", "--out", str(enterprise_report))
    for row in rows:
        if row.get("findings") and row is not worst:
            _enerdiag("report", row["enterprise"], *period, "--format", "html",
                      "--out", str(out / f"report-{row['enterprise']}.html"))
    _enerdiag("report", "city", *period, "--format", "html", "--out", str(city_report))

    _step("7/8 Bank API with the enterprise's consent (银行经授权查询信贷指标，全程审计)")
    credit = _bank_api_demo(rows, out)

    _step("8/8 Where to look (查看结果)")
    typer.echo(f"   analysis JSON      {analysis}")
    typer.echo(f"   diagnosis report   {enterprise_report} (the enterprise with the largest savings)")
    typer.echo(f"                      {out}/report-*.html (every other enterprise with findings)")
    typer.echo(f"   city summary       {city_report}")
    typer.echo(f"   bank API answer    {credit} (enerdiag api; who read it: enerdiag audit CODE)")
    typer.echo(f"   ground truth       {truth} (what the simulator injected, to compare with the findings)")
    typer.echo(f"   outdoor temperature {weather} (imported per county; report baselines try degree-days)")
    typer.echo("   dashboards         dashboards/*.json (Grafana, provisioned by deploy/grafana)")
    typer.echo(f"   InfluxDB           {settings.influx_url}  (database {settings.influx_db}, measurement reading)")
    typer.echo("   dead letters       enerdiag deadletters")
    typer.echo("   stop the services  enerdiag services down")


def _bank_api_demo(rows: list[dict[str, object]], out: Path) -> Path:
    """A bank reads one consenting enterprise's credit indicators over HTTP; another enterprise stays hidden."""
    import httpx

    from enerdiag.localservices.procs import free_port

    consenting, other = str(rows[0]["enterprise"]), str(rows[-1]["enterprise"])
    _enerdiag("bank", "add", "demo-bank", "--name", "示范银行 (demo bank)")
    key = _enerdiag("bank", "key", "demo-bank", capture=True).stdout.strip()
    until = (dt.date.today() + dt.timedelta(days=365)).isoformat()
    _enerdiag("consent", "grant", consenting, "demo-bank", "--scopes", "credit,profile", "--until", until)
    _enerdiag("rollup")  # up to date already: precomputes today's credit indicators of the consenting enterprise
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "enerdiag", "api", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {key}"}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/v1/health", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    fail("the bank API did not start (run 'enerdiag api' to see why)")
                time.sleep(0.3)
        as_of = dt.date.today().isoformat()
        answer = httpx.get(f"{base}/v1/enterprises/{consenting}/credit-indicators?as_of={as_of}", headers=headers,
                           timeout=60)
        hidden = httpx.get(f"{base}/v1/enterprises/{other}/credit-indicators?as_of={as_of}", headers=headers,
                           timeout=60)
    finally:
        server.terminate()
        server.wait(timeout=30)
    if answer.status_code != 200:
        fail(f"credit-indicators answered {answer.status_code}: {answer.text[:300]}")
    body = answer.json()
    path = out / f"credit-{consenting}.json"
    path.write_text(json.dumps(body, ensure_ascii=False, indent=2), encoding="utf-8")
    typer.echo(f"   GET /v1/enterprises/{consenting}/credit-indicators → 200 (consented; computed_at "
               f"{body.get('computed_at', 'on request')})")
    typer.echo(f"      shutdown_days_90d={body['shutdown_days_90d']}  stability_cv={body['stability_cv']}  "
               f"completeness={body['completeness']}  quota_status={body['quota_status']}  "
               f"open_critical_safety_alarms={body['open_critical_safety_alarms']}")
    typer.echo(f"   GET /v1/enterprises/{other}/credit-indicators → {hidden.status_code} (no consent: "
               "indistinguishable from an unknown enterprise)")
    audit = json.loads(_enerdiag("audit", consenting, "--json", capture=True).stdout)
    typer.echo(f"   enerdiag audit {consenting}: {len(audit)} record(s), latest by {audit[0].get('bank')!s} "
               f"→ {audit[0].get('status')}" if audit else f"   enerdiag audit {consenting}: no records")
    return path


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        plants: Annotated[int, typer.Option(help="simulated plants")] = 12,
        days: Annotated[int, typer.Option(help="days of backfill")] = 7,
        seed: Annotated[int, typer.Option(help="random seed (same seed, same city)")] = 42,
        timeout: Annotated[float, typer.Option(help="seconds to wait for the readings to be stored")] = 120.0,
    ) -> None:
        """The main job end to end on the local services (run `enerdiag services up` first)."""
        from core.influx import InfluxError

        try:
            run_demo(plants, days, seed, timeout)
        except InfluxError as exc:
            fail(str(exc))


def _one_decimal(value: float | None) -> str:
    """A figure to one decimal, or "—" when it is unknown (null is never printed as 0)."""
    return "—" if value is None else f"{value:.1f}"
