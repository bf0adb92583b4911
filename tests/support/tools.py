"""Command-line tools the tests drive (the Makefile installs them with apt-get; a missing one is a setup fault)."""

from __future__ import annotations

import shutil

import pytest


def require_tool(*names: str, package: str) -> str:
    """The path of the first of `names` on PATH; fails (never skips) with the install command otherwise."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"{names[0]} is not installed: run `make test` (or apt-get install -y {package})", pytrace=False)
