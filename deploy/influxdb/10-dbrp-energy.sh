#!/bin/bash
# InfluxDB 2.x first-start init (mounted in /docker-entrypoint-initdb.d; the influxdb:2.x image runs
# every executable *.sh there once, right after `influx setup`, with the admin CLI config active).
# Maps the v1 database/retention policy energy/autogen onto the bucket so the v1-compatible
# /write?db=energy and /query (InfluxQL) that the collector, analytics and Grafana use work.
set -euo pipefail

db="${ENERDIAG_INFLUX_DB:-energy}"
bucket_id="${DOCKER_INFLUXDB_INIT_BUCKET_ID:?the image exports it after setup}"

if influx v1 dbrp list --db "${db}" --hide-headers 2>/dev/null | grep -q "${bucket_id}"; then
    echo "DBRP mapping ${db}/autogen -> bucket ${DOCKER_INFLUXDB_INIT_BUCKET} exists"
    exit 0
fi
influx v1 dbrp create \
    --db "${db}" \
    --rp autogen \
    --bucket-id "${bucket_id}" \
    --default
echo "DBRP mapping ${db}/autogen -> bucket ${DOCKER_INFLUXDB_INIT_BUCKET} (${bucket_id}) created"
