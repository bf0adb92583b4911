"""Render a report context to HTML (Jinja2) and PDF (WeasyPrint from the same HTML)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"


def _env() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_html(context: dict[str, Any], template: str = "diagnosis.html.j2") -> str:
    """The report as one self-contained HTML page (charts embedded as data URIs)."""
    return _env().get_template(template).render(**context)


def render_pdf(html: str) -> bytes:
    """The same HTML as a PDF (A4) via WeasyPrint; fonts come from fontconfig (Noto Sans CJK)."""
    from weasyprint import HTML  # imported lazily: pango is only needed for PDF

    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
