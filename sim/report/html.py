"""HTML rendering of a `Document` (jinja2): one self-contained file, figures embedded as data URIs.

Nothing is fetched when the page opens: no scripts, fonts or stylesheets from elsewhere, so
it works offline, attached to an e-mail or projected in a classroom.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from sim.report.document import Bullets, Document, Figure, Paragraph, Table

_CODE = re.compile(r"`([^`]+)`")


def inline(text: str) -> Markup:
    """Escape `text`, then turn `code` spans into <code> elements."""
    return Markup(_CODE.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(text))))


def _data_uri(path: Path) -> str:
    kind = "image/svg+xml" if path.suffix == ".svg" else "image/png"
    return f"data:{kind};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("sim.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["inline"] = inline
    env.tests["paragraph"] = lambda b: isinstance(b, Paragraph)
    env.tests["bullets"] = lambda b: isinstance(b, Bullets)
    env.tests["table"] = lambda b: isinstance(b, Table)
    env.tests["figure"] = lambda b: isinstance(b, Figure)
    return env


def render(doc: Document, base: Path) -> str:
    """The page for `doc`; figure files are read from `base` (the document's directory) and embedded."""
    images = {f.file: _data_uri(Path(base) / f.file) for f in doc.figures()}
    return _environment().get_template("page.html.j2").render(doc=doc, images=images)
