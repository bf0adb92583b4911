"""The layers of docs/architecture.md: import-linter's contracts hold, and core needs no import of the API.

The bank API's registry tables are registered with core through the package's entry points, so a process that
only ever touches core (collector, scheduler, CLI) still creates the complete schema.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
API_TABLES = {"api_rate_limit", "api_objections", "api_credit_snapshots", "api_webhooks", "api_webhook_deliveries"}


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout


def test_no_core_module_imports_an_outer_layer_in_its_source() -> None:
    outer = ("api", "analytics", "collector", "dashboards", "simulators", "enerdiag")
    offending = [
        f"{path.relative_to(REPO)}:{n}"
        for path in (REPO / "core").rglob("*.py")
        for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if text.strip().startswith(tuple(f"{kw} {pkg}" for pkg in outer for kw in ("import", "from")))
    ]
    assert offending == []


def test_a_core_only_process_creates_the_api_tables_too(tmp_path: Path) -> None:
    db = tmp_path / "registry.sqlite3"
    script = (
        "import sys\n"
        "from sqlalchemy import inspect\n"
        "from core.registry.db import init_db\n"
        f"engine = init_db('sqlite:///{db}')\n"
        "print(','.join(sorted(inspect(engine).get_table_names())))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    tables = set(done.stdout.strip().split(","))
    assert tables >= API_TABLES
    assert {"enterprises", "gateways", "meters", "alembic_version"} <= tables
