"""The signed form as a PDF, through the shared renderer (portal/documents/pdf.py), in the form's language."""

from datetime import datetime

from portal import display, i18n
from portal.documents import pdf
from portal.i18n import gettext as _


def answer_text(field: dict, value: str) -> str:
    """An answer as people read it: the label of a chosen option, a tick for an agreement."""
    if field["kind"] == "agree":
        return _("Yes") if value else _("No")
    options = field.get("options") or ({"yes": "Yes", "no": "No"} if field["kind"] == "yesno" else None)
    if options and value in options:
        return _(options[value]) if options[value] else "—"
    return value or "—"


def signed_pdf(form: dict, patient: dict, answers: dict, signer_name: str, method: str, png: bytes, sha256: str,
               signed_at: datetime) -> bytes:
    with i18n.using(form["language"]):
        title = _(form["title"])
        intro = "\n\n".join(_(part) if i == 0 else part for i, part in enumerate(form["intro"].split("\n\n", 1)))
        blocks = [pdf.Facts([(_("Patient"), f"{patient['given_name']} {patient['family_name']}"),
                             (_("Date of birth"), display.format_day(patient["date_of_birth"])),
                             (_("Signed"), display.when_utc(signed_at))]),
                  pdf.Text(intro)]
        # Question and answer as paragraphs, not table rows: a long answer flows onto the next page, where a
        # table cell taller than a page would stop the renderer.
        for f in form["fields"]:
            blocks += [pdf.Text(_(f["label"]), small=True), pdf.Text(answer_text(f, answers.get(f["name"], "")))]
        blocks += [pdf.Picture(png, caption=_("Signed by %(name)s (%(how)s)", name=signer_name,
                                              how=_("drawn signature") if method == "drawn" else _("typed name"))),
                   pdf.Text(_("SHA-256 of what was signed: %(hash)s", hash=sha256), small=True)]
        return pdf.render(pdf.Letterhead(name=form["clinic_name"]), title, blocks, footer=title)
