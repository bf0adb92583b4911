"""MQTT ingestion into InfluxDB: validation, batching, spool, dead letters (docs/collector.md)."""
