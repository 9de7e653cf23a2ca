"""What a patient leaves outside their record, found by their addresses: mail sent to them without a patient
id (sign-in links, request outcomes), sign-in links, sessions, throttling rows, downloads and leads.

Erasure reads the addresses first (`addresses_of`), erases the categories (which blank the contact details),
then `forget`s what the addresses still find. Access (Art. 15) shows every message sent to any of them.
"""

from dataclasses import dataclass

from portal.tables import OutboxMessage, Patient


@dataclass(frozen=True)
class Addresses:
    clinic_id: int
    patient_id: int
    emails: tuple[str, ...]
    phones: tuple[str, ...]

    @property
    def all(self) -> list[str]:
        return [*self.emails, *self.phones]


async def addresses_of(patient_id: int) -> Addresses | None:
    """The patient's own email and phones (lower-cased; guardians' addresses are their own, not the child's)."""
    row = await Patient.select(Patient.clinic, Patient.email, Patient.phone_mobile, Patient.phone_other).where(
        Patient.id == patient_id).first()
    if row is None:
        return None
    emails = {row["email"].strip().lower()} - {""}
    phones = {row["phone_mobile"], row["phone_other"]} - {""}
    # Addresses the patient's own changes named (waiting, replaced, withdrawn): mail went there too, e.g. the
    # confirmation link of a new address; one another person of the clinic holds now is theirs, not this one's.
    for change in await Patient.raw(
            "SELECT channel, lower(address) AS address, lower(previous) AS previous FROM contact_change "
            "WHERE patient = {} AND guardian IS NULL", patient_id):
        for address in {change["address"], change["previous"]} - {""}:
            (emails if change["channel"] == "email" else phones).add(address)
    found = Addresses(row["clinic"], patient_id, tuple(sorted(emails)), tuple(sorted(phones)))
    current = {row["email"].strip().lower(), row["phone_mobile"], row["phone_other"]}
    others = await _still_used(found) - current
    return Addresses(row["clinic"], patient_id, tuple(sorted(emails - others)), tuple(sorted(phones - others)))


# Mail of the patient: carrying their id, or sent to one of their addresses by their clinic without any id.
MESSAGES_OF = ("(m.patient_id = {} OR (m.patient_id IS NULL AND m.clinic_id = {} "
               "AND lower(m.recipient) = ANY({}::text[])))")


async def messages_to(patient_id: int) -> list[dict]:
    """Every message sent to the patient: by their id, or to any of their addresses (sign-in links, answers)."""
    found = await addresses_of(patient_id)
    if found is None:
        return []
    return await OutboxMessage.raw(
        f"SELECT m.* FROM outbox_message m WHERE {MESSAGES_OF} ORDER BY m.id", patient_id, found.clinic_id,
        found.all)


async def erase_messages(patient_id: int, found: Addresses | None = None) -> int:
    found = found or await addresses_of(patient_id)
    if found is None:
        return len(await OutboxMessage.delete().where(OutboxMessage.patient_id == patient_id).returning(
            OutboxMessage.id))
    rows = await OutboxMessage.raw(f"DELETE FROM outbox_message m WHERE {MESSAGES_OF} RETURNING m.id", patient_id,
                                   found.clinic_id, found.all)
    return len(rows)


async def forget(found: Addresses) -> dict[str, int]:
    """After the categories are erased: what the addresses still find goes too (in the erasing transaction)."""
    counts = {"messages": await erase_messages(found.patient_id, found)}
    still_used = await _still_used(found)
    emails = [e for e in found.emails if e not in still_used]
    phones = [p for p in found.phones if p not in still_used]
    counts["sign_in_links"] = len(await Patient.raw(
        "DELETE FROM patient_sign_in_link WHERE clinic = {} AND lower(email) = ANY({}::text[]) RETURNING id",
        found.clinic_id, emails))
    counts["sessions"] = len(await Patient.raw(
        "DELETE FROM patient_session WHERE clinic = {} AND (patient_id = {} OR lower(email) = ANY({}::text[])) "
        "RETURNING id", found.clinic_id, found.patient_id, emails))
    counts["throttling"] = len(await Patient.raw(
        "DELETE FROM login_attempt WHERE email = ANY({}::text[]) RETURNING id", ["privacy:" + e for e in emails]
        + [f"booking-{step}:{a}" for step in ("code", "code-entry") for a in emails + phones]))
    counts["booking_codes"] = len(await Patient.raw(  # asked for with these details but matched no one
        "DELETE FROM booking_code WHERE clinic = {} AND address = ANY({}::text[]) RETURNING id", found.clinic_id,
        emails + phones))
    counts["downloads"] = len(await Patient.raw(
        "DELETE FROM data_export WHERE clinic = {} AND patient_id = {} RETURNING id", found.clinic_id,
        found.patient_id))
    leads = [r["id"] for r in await Patient.raw(
        "SELECT id FROM lead WHERE clinic = {} AND (patient = {} OR phone = ANY({}::text[]))", found.clinic_id,
        found.patient_id, phones)]
    await Patient.raw("DELETE FROM conversation_message WHERE lead = ANY({}::int[])", leads)
    counts["leads"] = len(await Patient.raw("DELETE FROM lead WHERE id = ANY({}::int[]) RETURNING id", leads))
    return counts


async def _still_used(found: Addresses) -> set[str]:
    """Addresses another person of the clinic still has on file (a shared family address stays usable)."""
    rows = await Patient.raw(
        "SELECT a FROM unnest({}::text[]) AS a WHERE EXISTS (SELECT 1 FROM patient p WHERE p.clinic = {} "
        "AND p.id <> {} AND (lower(p.email) = a OR p.phone_mobile = a OR p.phone_other = a)) OR EXISTS "
        "(SELECT 1 FROM guardian g WHERE g.clinic = {} AND (lower(g.email) = a OR g.phone = a))",
        found.all, found.clinic_id, found.patient_id, found.clinic_id)
    return {r["a"] for r in rows}
