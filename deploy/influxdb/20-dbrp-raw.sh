#!/bin/bash
# InfluxDB 2.x init, after 10-dbrp-energy.sh: a second bucket for the raw readings, so they can expire
# while the rollups (bucket energy) stay. The collector writes `reading` with /write?db=energy&rp=raw and
# every reader queries "raw"."reading" (ENERDIAG_INFLUX_RAW_RP, docs/operations.md "Retention").
#   bucket  <bucket>_raw  retention INFLUXDB_RAW_RETENTION (0 = forever; e.g. 400d)
#   DBRP    energy/raw -> <bucket>_raw (not default: everything else stays in energy/autogen)
# Idempotent and self-contained (finds the bucket by name), so an existing installation runs it once by
# hand before upgrading:  docker compose exec influxdb bash /docker-entrypoint-initdb.d/20-dbrp-raw.sh
# A changed INFLUXDB_RAW_RETENTION is applied the same way (bucket update).
set -euo pipefail

db="${ENERDIAG_INFLUX_DB:-energy}"
rp="${ENERDIAG_INFLUX_RAW_RP:-}"
org="${DOCKER_INFLUXDB_INIT_ORG:?set by docker-compose.yml}"
bucket="${DOCKER_INFLUXDB_INIT_BUCKET:-energy}_raw"
retention="${INFLUXDB_RAW_RETENTION:-0}"

if [ -z "${rp}" ]; then
    echo "ENERDIAG_INFLUX_RAW_RP is empty: raw readings stay in ${db}/autogen, no raw bucket"
    exit 0
fi

bucket_id="$(influx bucket list --org "${org}" --name "${bucket}" --hide-headers 2>/dev/null | awk 'NR==1 {print $1}')"
if [ -z "${bucket_id}" ]; then
    influx bucket create --org "${org}" --name "${bucket}" --retention "${retention}" >/dev/null
    bucket_id="$(influx bucket list --org "${org}" --name "${bucket}" --hide-headers | awk 'NR==1 {print $1}')"
    echo "bucket ${bucket} (${bucket_id}) created, retention ${retention}"
else
    influx bucket update --id "${bucket_id}" --retention "${retention}" >/dev/null
    echo "bucket ${bucket} (${bucket_id}) exists, retention set to ${retention}"
fi

if influx v1 dbrp list --org "${org}" --db "${db}" --rp "${rp}" --hide-headers 2>/dev/null | grep -q "${bucket_id}"; then
    echo "DBRP mapping ${db}/${rp} -> bucket ${bucket} exists"
    exit 0
fi
influx v1 dbrp create --org "${org}" --db "${db}" --rp "${rp}" --bucket-id "${bucket_id}"
echo "DBRP mapping ${db}/${rp} -> bucket ${bucket} (${bucket_id}) created"
