"""A report as data (sections of paragraphs, lists, tables and figures), rendered twice.

The run report and the comparison are built once as a `Document`; `to_markdown` and
`sim.report.html.render` draw the same document, so `report.md` and `report.html` (and
`compare.md`, `compare.html`) always hold the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Paragraph:
    text: str  # `code` spans allowed


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    right: set[int] = field(default_factory=set)  # right-aligned column indices (numbers)


@dataclass
class Figure:
    file: str  # relative to the document's directory, e.g. plots/utilisation.png
    alt: str
    caption: str = ""


Block = Paragraph | Bullets | Table | Figure


@dataclass
class Section:
    heading: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Document:
    title: str
    lead: list[str]
    sections: list[Section]
    headline: list[tuple[str, str]] = field(default_factory=list)  # a few key figures shown large in HTML

    def figures(self) -> list[Figure]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(doc: Document) -> str:
    lines = [f"# {doc.title}", ""]
    for text in doc.lead:
        lines += [text, ""]
    for section in doc.sections:
        lines += [f"## {section.heading}", ""]
        for block in section.blocks:
            if isinstance(block, Paragraph):
                lines += [block.text, ""]
            elif isinstance(block, Bullets):
                lines += [f"- {item}" for item in block.items] + [""]
            elif isinstance(block, Table):
                lines.append("| " + " | ".join(_cell(h) for h in block.header) + " |")
                lines.append("|" + "|".join("---:" if i in block.right else "---"
                                            for i in range(len(block.header))) + "|")
                lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows]
                lines.append("")
            elif isinstance(block, Figure):
                lines += [f"![{block.alt}]({block.file})", ""]
                if block.caption:
                    lines += [f"*{block.caption}*", ""]
    return "\n".join(lines).rstrip("\n") + "\n"
