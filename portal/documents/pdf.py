"""The PDF renderer every printable document uses: the clinic's letterhead, blocks of content, page numbers.

ReportLab (pure Python wheels, no system libraries, maintained since 2000) draws the pages; DejaVu Sans from
Debian's fonts-dejavu-core gives every letter our languages need (Turkish ğ ş ı İ among them), which the PDF
base fonts lack. Text from people is escaped before it reaches ReportLab's paragraph markup, so a name such as
"<b>Ann" prints as typed. Output is invariant (no creation time or random id), so the same document renders to
the same bytes and a hash of it proves what was signed.

    from portal.documents import pdf
    data = pdf.render(pdf.Letterhead(name="Tandarts Noord", lines=("Dorpsstraat 1", "1011 AB Amsterdam")),
                      title="Invoice 2026-0001",
                      blocks=[pdf.Facts([("Patient", "Ann Smith"), ("Date", "30 Nov 2026")]),
                              pdf.Table(("Item", "Amount"), [("Filling", "€ 85.00")], align_right=(1,)),
                              pdf.Text("Please pay within 30 days.")])
"""

import io
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import Table as GridTable

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"


@lru_cache(maxsize=1)
def _fonts() -> tuple[str, str]:
    """Register DejaVu Sans once; a missing font is a set-up error (`make system-packages`), never a silent swap."""
    for name, file in ((FONT, "DejaVuSans.ttf"), (BOLD, "DejaVuSans-Bold.ttf")):
        path = FONT_DIR / file
        if not path.exists():
            raise RuntimeError(f"{path} is missing: install Debian's fonts-dejavu-core (make system-packages).")
        pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)
    return FONT, BOLD


def _styles() -> dict[str, ParagraphStyle]:
    regular, bold = _fonts()
    return {
        "body": ParagraphStyle("body", fontName=regular, fontSize=10, leading=14),
        "small": ParagraphStyle("small", fontName=regular, fontSize=8, leading=10, textColor=colors.HexColor("#444")),
        "title": ParagraphStyle("title", fontName=bold, fontSize=16, leading=20, spaceAfter=6),
        "heading": ParagraphStyle("heading", fontName=bold, fontSize=12, leading=16, spaceBefore=8, spaceAfter=4),
        "clinic": ParagraphStyle("clinic", fontName=bold, fontSize=12, leading=15),
        "cell": ParagraphStyle("cell", fontName=regular, fontSize=9, leading=12),
        "cell_right": ParagraphStyle("cell_right", fontName=regular, fontSize=9, leading=12, alignment=2),
        "cell_head": ParagraphStyle("cell_head", fontName=bold, fontSize=9, leading=12),
    }


def _text(value: object) -> str:
    """Paragraph markup for text a person typed: escaped, line breaks kept."""
    return escape("" if value is None else str(value)).replace("\n", "<br/>")


@dataclass(frozen=True)
class Letterhead:
    """Who the document is from: the clinic's name and the lines under it (address, phone, tax id)."""

    name: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Text:
    text: str
    small: bool = False


@dataclass(frozen=True)
class Facts:
    """Label–value pairs in two columns (patient, date, invoice number …)."""

    pairs: list[tuple[str, str]]


@dataclass(frozen=True)
class Table:
    """A grid with a header row; `align_right` lists the columns that hold amounts."""

    headers: tuple[str, ...]
    rows: list[tuple]
    align_right: tuple[int, ...] = ()
    widths: tuple[float, ...] | None = None  # fractions of the text width, e.g. (0.6, 0.2, 0.2)
    total: tuple | None = None  # a last row printed in bold


@dataclass(frozen=True)
class Picture:
    """A PNG or JPEG (a drawn signature, an X-ray thumbnail) with a caption under it."""

    data: bytes
    caption: str = ""
    width_mm: float = 60


@dataclass(frozen=True)
class Document:
    letterhead: Letterhead
    title: str
    blocks: list = field(default_factory=list)
    footer: str = ""
    author: str = ""


def _flowables(block, styles, width):
    if isinstance(block, Heading):
        return [Paragraph(_text(block.text), styles["heading"])]
    if isinstance(block, Text):
        return [Paragraph(_text(block.text), styles["small" if block.small else "body"])]
    if isinstance(block, Facts):
        data = [[Paragraph(_text(k), styles["cell_head"]), Paragraph(_text(v), styles["cell"])] for k, v in block.pairs]
        grid = GridTable(data, colWidths=[width * 0.3, width * 0.7], hAlign="LEFT")
        grid.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
        return [grid, Spacer(1, 4 * mm)]
    if isinstance(block, Table):
        def cell(value, column, style="cell"):
            return Paragraph(_text(value), styles["cell_right" if column in block.align_right and style == "cell"
                                                  else style])
        data = [[cell(h, i, "cell_head") for i, h in enumerate(block.headers)]]
        data += [[cell(v, i) for i, v in enumerate(row)] for row in block.rows]
        if block.total:
            data.append([Paragraph(f"<b>{_text(v)}</b>", styles["cell_right" if i in block.align_right else "cell"])
                         for i, v in enumerate(block.total)])
        columns = len(block.headers)
        fractions = block.widths or tuple(1 / columns for _ in range(columns))
        grid = GridTable(data, colWidths=[width * f for f in fractions], repeatRows=1, hAlign="LEFT")
        grid.setStyle(TableStyle([
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
            ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#bbb")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))
        return [grid, Spacer(1, 4 * mm)]
    if isinstance(block, Picture):
        image = Image(io.BytesIO(block.data))
        scale = (block.width_mm * mm) / image.imageWidth
        image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
        image.hAlign = "LEFT"
        parts = [image] + ([Paragraph(_text(block.caption), styles["small"])] if block.caption else [])
        return [KeepTogether(parts), Spacer(1, 4 * mm)]
    raise TypeError(f"Not a document block: {block!r}")


def render_document(document: Document) -> bytes:
    """The document as PDF bytes: letterhead on the first page, page numbers and the footer on every page."""
    styles = _styles()
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                            bottomMargin=20 * mm, title=document.title, author=document.author or
                            document.letterhead.name, creator="Chairside", invariant=1)
    width = doc.width
    story = [Paragraph(_text(document.letterhead.name), styles["clinic"])]
    story += [Paragraph(_text(line), styles["small"]) for line in document.letterhead.lines if line]
    story += [Spacer(1, 8 * mm), Paragraph(_text(document.title), styles["title"])]
    for block in document.blocks:
        story += _flowables(block, styles, width)

    def furniture(canvas, _doc):
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(colors.HexColor("#444"))
        if document.footer:
            canvas.drawString(20 * mm, 10 * mm, document.footer)
        canvas.drawRightString(A4[0] - 20 * mm, 10 * mm, str(canvas.getPageNumber()))
        canvas.restoreState()

    doc.build(story, onFirstPage=furniture, onLaterPages=furniture)
    return out.getvalue()


def render(letterhead: Letterhead, title: str, blocks: list, footer: str = "") -> bytes:
    """Shorthand for `render_document(Document(...))`."""
    return render_document(Document(letterhead=letterhead, title=title, blocks=blocks, footer=footer))
