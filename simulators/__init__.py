"""Simulated SME plants, meters and gateways: data for development, demos, load tests and diagnosis ground truth.

Pure models (`calendar`, `weather`, `industries`, `plant`, `problems`, `faults`, `messages`, `replay`) do no I/O;
`gateway` (MQTT) and `runner` (backfill / real time) are the edges.
"""
