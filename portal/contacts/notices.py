"""What the worker sends for an address change: the link or code to the new address, and to the previous one a
notice with a link to report the change. Links are built on PUBLIC_URL (portal/links.py), never on a request."""

from portal import links
from portal.contacts import changes
from portal.db import transaction
from portal.messaging import mail, outbox
from portal.settings import Settings
from portal.tables import Clinic, Guardian, Patient


async def _reader(row: dict) -> dict:
    """The language and name the holder reads (the guardian's for a guardian's address)."""
    if row["guardian"] is not None:
        g = await Guardian.select(Guardian.name, Guardian.preferred_language, Guardian.email, Guardian.phone).where(
            Guardian.id == row["guardian"]).first()
        return {"language": g["preferred_language"], "email": g["email"], "phone": g["phone"]}
    p = await Patient.select(Patient.preferred_language, Patient.email, Patient.phone_mobile).where(
        Patient.id == row["patient"]).first()
    return {"language": p["preferred_language"], "email": p["email"], "phone": p["phone_mobile"]}


def masked(address: str) -> str:
    """Enough for the holder to recognise, too little to learn someone's address from a notice."""
    if "@" in address:
        name, _, domain = address.partition("@")
        return f"{name[:1]}•••@{domain}"
    return f"•••{address[-3:]}" if address else ""


async def _send(row: dict, clinic: dict, language: str, kind: str, channel: str, to: str, key: str,
                **context) -> None:
    rendered = mail.render(kind, language, clinic_language=clinic["locale"], region=clinic["country"],
                           clinic_name=clinic["name"], **context)
    await outbox.enqueue(outbox.Email(to=to, subject=rendered.subject, text=rendered.text, html=rendered.html),
                         key=key, clinic_id=row["clinic"], channel="email" if channel == "email" else "sms")


async def notify(settings: Settings, change_id: int) -> None:
    """Once per change (a retried job sends nothing twice): confirmation to the new address, notice to the old."""
    async with transaction():
        row = await changes.issue_secrets(change_id)
        if row is None:
            return
        clinic = await Clinic.select(Clinic.name, Clinic.locale, Clinic.country).where(
            Clinic.id == row["clinic"]).first()
        reader = await _reader(row)
        hours = int(changes.CONFIRM_FOR.total_seconds() // 3600)
        if row["secret"] and row["channel"] == "email":
            await _send(row, clinic, reader["language"], "contact_confirm", "email", row["address"],
                        f"contact-confirm:{row['id']}", hours=hours,
                        link=links.absolute_url(settings, f"/contact/confirm/{row['secret']}"))
        elif row["secret"]:
            await _send(row, clinic, reader["language"], "contact_code", "phone", row["address"],
                        f"contact-code:{row['id']}", code=row["secret"], hours=hours)
        if row["report_token"] is None or row["origin"] in changes.NO_COOLING:  # a new record: nobody to tell
            return
        # Told: the previous address of the same kind, else the holder's confirmed address of the other kind.
        previous = row["previous"]
        channel = row["channel"]
        if not previous:
            channel = "phone" if row["channel"] == "email" else "email"
            previous = reader[channel]
        if not previous:
            return
        await _send(row, clinic, reader["language"], "contact_changed_mail" if channel == "email"
                    else "contact_changed_text", channel, previous, f"contact-changed:{row['id']}",
                    what=row["channel"], new=masked(row["address"]), removed=not row["address"],
                    link=links.absolute_url(settings, f"/contact/report/{row['report_token']}"))
