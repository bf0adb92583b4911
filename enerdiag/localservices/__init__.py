"""Local Mosquitto, InfluxDB 1.x and PostgreSQL for development and tests, without systemd.

Servers come from Debian's packages, listen on 127.0.0.1 only, keep config, data and log in their
own `workdir`, and count as started only once they really answer (MQTT v5 publish/subscribe round
trip, InfluxDB `/ping` 204, `pg_isready`). A port is never shared: it must be free before start
and the listener must belong to the pid we launched (read from /proc).

Per-server handles (tests use these to stop, crash and restart servers mid-stream)::

    from enerdiag.localservices import Mosquitto, InfluxD, Postgres, ServiceError

    broker = Mosquitto(workdir, port=None, extra_config="", allow_anonymous=True,
                       probe_auth=None, probe_topic=None)  # (user, pw) / ACL-allowed topic
                                                 # for the readiness probe when anonymous is off
    influx = InfluxD(workdir, port=None)         # also .rpc_port, .query(q, db), .create_database(name)
    pg = Postgres(workdir, port=None)            # .url = postgresql+psycopg://postgres@127.0.0.1:PORT/postgres

    broker.start(timeout=30)   # free port chosen once; raises ServiceError(.log_tail) and stops on failure
    broker.url, broker.port, broker.pid, broker.log_tail(40), broker.running(), broker.ready()
    broker.stop()              # SIGTERM (postgres: SIGINT = fast shutdown), SIGKILL after 10 s
    broker.kill()              # SIGKILL now (a crash)
    broker.restart()           # stop + start on the SAME port with the same workdir/persistence

`workdir` must be traversable by users `mosquitto`/`postgres` when running as root (those servers
drop privileges), so in tests prefer a `tempfile.mkdtemp()` dir chmod 0755 over pytest's 0700 tmp.

The whole stack (what `enerdiag services up|down|status` runs) in a run dir (`.run/` by default)::

    env = up(run_dir, postgres=False)   # -> {"ENERDIAG_MQTT_URL": ..., ...}; writes run_dir/env and
                                        #    run_dir/services.json; creates InfluxDB database "energy"
    down(run_dir)                       # -> messages; stops exactly the recorded pids
    status(run_dir)                     # -> [ServiceStatus(name, up, pid, url)]
"""

from __future__ import annotations

from enerdiag.localservices.influxd import InfluxD
from enerdiag.localservices.mosquitto import Mosquitto, mqtt_probe
from enerdiag.localservices.postgres import Postgres
from enerdiag.localservices.server import Server, ServiceError
from enerdiag.localservices.stack import ServiceStatus, down, ensure_installed, status, up

__all__ = [
    "InfluxD",
    "Mosquitto",
    "Postgres",
    "Server",
    "ServiceError",
    "ServiceStatus",
    "down",
    "ensure_installed",
    "mqtt_probe",
    "status",
    "up",
]
