"""The shared PDF renderer: letterhead, tables and pictures in a valid PDF, every language's letters, typed text
printed as typed, and the same document always the same bytes (so a hash proves what was signed)."""

import io
import re

from PIL import Image as PILImage

from portal.documents import pdf


def _png() -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (200, 80), "white").save(out, "PNG")
    return out.getvalue()


def _document(name="Ann Smith"):
    return pdf.render(pdf.Letterhead("Diş Kliniği Şişli", ("İstiklal Cad. 1", "VAT NL001234567B01")),
                      "Invoice 2026-0001",
                      [pdf.Heading("Items"), pdf.Facts([("Patient", name)]),
                       pdf.Table(("Item", "Amount"), [("Filling <b>", "€ 85.00")] * 80, align_right=(1,),
                                 widths=(0.7, 0.3), total=("Total", "€ 6,800.00")),
                       pdf.Picture(_png(), caption="Signed by the patient"), pdf.Text("Ödeme 30 gün içinde.")],
                      footer="Chairside")


def test_a_document_is_a_pdf_of_several_pages_with_the_font_embedded():
    data = _document()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type /Page[^s]", data)) >= 2  # 80 rows spill onto a second page
    assert b"DejaVuSans" in data  # a font with ğ ş ı İ, not the base fonts that lack them


def test_the_same_document_renders_to_the_same_bytes_and_a_changed_one_does_not():
    assert _document() == _document()
    assert _document("Ann Smith") != _document("Ann Smyth")


def test_markup_in_typed_text_is_escaped_not_obeyed():
    pdf.render(pdf.Letterhead("<font name='x'>Clinic"), "<b>unclosed", [pdf.Text("a < b & c <br> d")])
