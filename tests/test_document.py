"""One document, two renderings: markdown and self-contained HTML hold the same text."""

from __future__ import annotations

from sim.report.document import Bullets, Document, Figure, Paragraph, Section, Table, to_markdown
from sim.report.html import render


def _doc() -> Document:
    return Document("a <b> & c", ["lead with `code`"], [
        Section("One", [Paragraph("x < y | z"), Bullets(["first", "`fifo` second"]),
                        Table(["name", "value"], [["a|b", "1,024"], ["<tag>", "2"]], {1})]),
        Section("Two", [Figure("plots/p.png", "a plot", "its caption")]),
    ], [("label", "42%")])


def test_markdown_escapes_table_pipes_and_aligns_numbers():
    md = to_markdown(_doc())
    assert md.startswith("# a <b> & c\n")
    assert "| a\\|b | 1,024 |" in md
    assert "|---|---:|" in md
    assert "![a plot](plots/p.png)" in md and "*its caption*" in md
    assert "- `fifo` second" in md


def test_html_escapes_text_embeds_figures_and_keeps_code(tmp_path):
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "p.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    page = render(_doc(), tmp_path)
    assert "<title>a &lt;b&gt; &amp; c</title>" in page
    assert "x &lt; y | z" in page and "&lt;tag&gt;" in page and "<tag>" not in page
    assert "<code>fifo</code> second" in page and "lead with <code>code</code>" in page
    assert 'src="data:image/png;base64,iVBORw0KGgpmYWtl"' in page
    assert '<td class="r">1,024</td>' in page
    assert "http" not in page.lower(), "a self-contained page names no URL"
