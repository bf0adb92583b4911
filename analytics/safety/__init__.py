"""Electrical-safety monitoring (安全用电监测) from the same meters: rules, alarms, streaming watcher, faults.

Modules: `thresholds` (named defaults with sources, override file), `rules` (per-reading levels, pure,
vectorised), `alarms` (debounce state machine, batch `detect`), `engine` (incremental per-meter state),
`store` (InfluxDB `safety_alarm` points, SQLite list), `context` (registry safety meters + rules),
`watch` (MQTT watcher), `scan` (batch over stored readings), `summary` (alarms from InfluxDB for the report
and the API). The fault generator with ground truth is `simulators.safety_faults`; detection quality is
scored in the tests (`tests/support/safety_scoring.py`). See docs/safety.md.
"""
