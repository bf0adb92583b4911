"""Logging of the long-running commands (collector, safety watcher): timestamped lines on stderr."""

from __future__ import annotations

import logging
import sys


def configure_logging(verbose: bool) -> None:
    """INFO (DEBUG with `verbose`) to stderr; httpx's per-request lines only from WARNING."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
