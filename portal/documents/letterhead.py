"""The clinic's letterhead for every document it prints or mails: its name, address and contact address."""

from portal.documents import pdf
from portal.tables import Clinic


async def for_clinic(clinic_id: int) -> pdf.Letterhead:
    row = await Clinic.select(Clinic.name, Clinic.address, Clinic.contact_email).where(Clinic.id == clinic_id).first()
    lines = tuple(line for line in (row["address"], row["contact_email"]) if line)
    return pdf.Letterhead(name=row["name"], lines=lines)
