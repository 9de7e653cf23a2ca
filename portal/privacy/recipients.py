"""GDPR Art. 19: a correction, erasure or restriction is passed on to each recipient the data went to (the
clinic's processors of the kinds a category declares, hosting aside: it holds the changed rows themselves), and
recorded, so the patient can see whom the clinic told.

A processor with a notice address is mailed through the outbox (the mail names the patient, so it is deleted
once sent); one without is recorded for the owner to tell by other means (shown on the request).
"""

from datetime import datetime, timezone

from portal import audit
from portal.i18n import _
from portal.messaging import outbox
from portal.permissions import Actor
from portal.privacy import processors
from portal.privacy.registry import CATEGORIES
from portal.tables import Patient, RecipientNotice

IN_PLACE = {"hosting"}  # a change is made where the hosting provider keeps it: nobody to tell


def recipients_of(categories: list[str], found: list[dict]) -> dict[int, dict]:
    """The processors that received any of these categories, each with the categories it received."""
    told: dict[int, dict] = {}
    for name in categories:
        category = CATEGORIES.get(name)
        if category is None:
            continue
        for processor in found:
            if processor["kind"] in category.recipients and processor["kind"] not in IN_PLACE:
                told.setdefault(processor["id"], {**processor, "categories": []})["categories"].append(name)
    return told


async def pass_on(actor: Actor, request: dict, categories: list[str], what: str) -> int:
    """Inside the deciding transaction: tell each recipient (`what` says what changed, in words)."""
    found = recipients_of(categories, await processors.list_processors(actor.clinic_id))
    if not found:
        return 0
    patient = await Patient.select(Patient.given_name, Patient.family_name, Patient.date_of_birth).where(
        Patient.id == request["patient_id"]).first()
    who = f'{patient["given_name"]} {patient["family_name"]}, {patient["date_of_birth"].isoformat()}' \
        if patient else ""
    now = datetime.now(timezone.utc)
    for processor in found.values():
        titles = ", ".join(str(CATEGORIES[c].title) for c in processor["categories"])
        if processor["notice_email"]:
            await outbox.enqueue(outbox.Email(
                to=processor["notice_email"],
                subject=_("%(clinic)s: a correction or erasure to pass on (GDPR Art. 19)", clinic=actor.clinic_name),
                text=_("We have acted on a request of a person whose data we gave you (%(categories)s): %(what)s "
                       "Please do the same with what you hold about them.", categories=titles, what=what)
                + f"\n\n{who}"),
                key=f"art19:{request['id']}:{processor['id']}", clinic_id=actor.clinic_id,
                forget_after_sending=True)
        await RecipientNotice.insert(RecipientNotice(
            clinic=actor.clinic_id, request_id=request["id"], processor_id=processor["id"],
            recipient=processor["name"], categories=processor["categories"], sent_to=processor["notice_email"],
            created_at=now))
    await audit.record(actor, "privacy.recipients_told", patient_id=request["patient_id"],
                       object_type="privacy_request", object_id=request["id"],
                       detail={"recipients": [p["name"] for p in found.values()]})
    return len(found)


async def told(clinic_id: int, request_id: int) -> list[dict]:
    """Whom the clinic told about this request's outcome, and how (what the patient may ask, Art. 19)."""
    return await RecipientNotice.select().where((RecipientNotice.clinic == clinic_id)
                                                & (RecipientNotice.request_id == request_id)).order_by(
        RecipientNotice.id).output(load_json=True)
