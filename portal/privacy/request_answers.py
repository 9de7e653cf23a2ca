"""Who is told of a privacy request's outcome, in which language and in what words: the patient (else their
guardians), one mail per reader in the reader's language, and what recipients of the data hear (Art. 19)."""

from typing import NamedTuple

from portal import i18n
from portal.i18n import _
from portal.messaging import outbox
from portal.permissions import Actor
from portal.privacy.registry import CATEGORIES, all_categories
from portal.tables import Clinic, Guardian, Patient


async def addresses(patient_id: int) -> list[str]:
    """Where to write: the patient's own address, else their guardians'."""
    row = await Patient.select(Patient.email).where(Patient.id == patient_id).first()
    if row and row["email"]:
        return [row["email"]]
    guardians = await Guardian.select(Guardian.email).where((Guardian.patient == patient_id) & (Guardian.email != ""))
    return sorted({g["email"] for g in guardians})


class Reader(NamedTuple):
    address: str
    language: str
    child: str | None = None  # a guardian reads about this child (the mail names them, not "you")


async def readers(actor: Actor, patient_id: int) -> list[Reader]:
    """Where to write and in which language: the patient in theirs, else their guardians in theirs (else the
    clinic's language), told whose data it is."""
    clinic = await Clinic.select(Clinic.locale).where(Clinic.id == actor.clinic_id).first()
    row = await Patient.select(Patient.email, Patient.preferred_language, Patient.given_name).where(
        Patient.id == patient_id).first()
    if row and row["email"]:
        return [Reader(row["email"], i18n.choose(row["preferred_language"], clinic["locale"]))]
    guardians = await Guardian.select(Guardian.email, Guardian.preferred_language).where(
        (Guardian.patient == patient_id) & (Guardian.email != ""))
    return sorted({Reader(g["email"], i18n.choose(g["preferred_language"], clinic["locale"]),
                          row["given_name"] if row else None) for g in guardians})


async def mail(actor: Actor, to: list[Reader], key: str, compose, patient_id: int | None = None,
                forget: bool = False) -> None:
    """One mail per reader, `compose(child)` -> (subject, text) written in the reader's language and, for a
    guardian, about the child by name; the key names its place, not the address; `forget`: deleted from the
    outbox once sent (an erasure's confirmation)."""
    for n, (address, language, child) in enumerate(to):
        with i18n.using(language):
            subject, text = compose(child)
        await outbox.enqueue(outbox.Email(to=address, subject=subject, text=text), key=f"{key}:{n}",
                             clinic_id=actor.clinic_id, patient_id=None if forget else patient_id,
                             forget_after_sending=forget)


PASSED_ON = ("correction", "erasure", "restriction")


def passed_on(kind: str, details: dict, corrected=None) -> tuple[list[str], str]:
    """The categories a decision touches and what recipients are told of it, in words."""
    if kind == "correction":
        category = CATEGORIES.get(details.get("category", ""))
        if category is None:
            return [], ""
        label = category.correctable.get(details.get("field", ""), category.title)
        return [category.name], _("%(detail)s has been corrected to: %(value)s.", detail=label,
                                  value=corrected if corrected is not None else details.get("proposed", ""))
    names = [c.name for c in all_categories()]
    if kind == "erasure":
        return names, _("their data has been erased or, where the law makes us keep it, restricted.")
    return names, _("the use of their data has been restricted.")


def decision_text(kind: str, kind_label: str, decision: str, reason: str, child: str | None = None) -> str:
    """The decision mail's text, in the current language (the patient's, set by the caller); to a guardian it
    speaks of the child by name."""
    if decision == "answered":
        return _("Our answer to your question:") + f"\n\n{reason}"
    if child:
        head = {"approved": _("Your request (%(kind)s) about %(name)s's data has been approved.", kind=kind_label,
                              name=child),
                "refused": _("Your request (%(kind)s) about %(name)s's data has been refused.", kind=kind_label,
                             name=child)}[decision]
    else:
        head = {"approved": _("Your request (%(kind)s) has been approved.", kind=kind_label),
                "refused": _("Your request (%(kind)s) has been refused.", kind=kind_label)}[decision]
    if kind == "erasure" and decision == "approved":
        head += " " + (_("Everything we are not required by law to keep about %(name)s has been erased. %(name)s's "
                         "treatment record is locked away from everyday use and will be erased when the legal "
                         "retention period ends.", name=child) if child else
                       _("Everything we are not required by law to keep has been erased. Your treatment record is "
                         "locked away from everyday use and will be erased when the legal retention period ends."))
    if decision == "refused":
        head += " " + _("Our reasons:")
    return head + (f"\n\n{reason}" if reason else "")
