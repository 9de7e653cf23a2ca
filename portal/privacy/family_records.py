"""The privacy registry's view of families (households) and of the children a patient is the linked guardian of."""

from portal.i18n import lazy_gettext
from portal.privacy.categories import ACCESS_WORDS, CONTRACT, DEMOGRAPHICS
from portal.privacy.registry import DataCategory, plain_rows, register
from portal.tables import Family, FamilyMember, Guardian

FAMILY_FIELDS = {
    "family_name": lazy_gettext("The family's name"), "address": lazy_gettext("The family's street and number"),
    "postcode": lazy_gettext("The family's postcode"), "city": lazy_gettext("The family's city"),
    "country": lazy_gettext("The family's country"), "joined_at": lazy_gettext("When you were added to the family")}
GUARDIAN_OF_FIELDS = {
    "child": lazy_gettext("The child you are a guardian of"),
    "relationship": lazy_gettext("Your relationship to the child"),
    "created_at": lazy_gettext("When you were recorded as guardian")}
ACCESS_WORDS.update({
    "family.created": lazy_gettext("Started a family with you"),
    "family.member_added": lazy_gettext("Added you to a family"),
    "family.member_removed": lazy_gettext("Took you out of a family"),
    "family.updated": lazy_gettext("Changed your family's name or address"),
    "family.address_applied": lazy_gettext("Gave you your family's address"),
    "family.members_shown": lazy_gettext("Saw your name in a family or as a guardian"),
    "family.viewed": lazy_gettext("Saw your family and the children you are guardian of"),
    "guardian.linked": lazy_gettext("Recorded you as a child's guardian")})


async def _family(patient_id: int) -> list[dict]:
    rows = await FamilyMember.select(
        FamilyMember.family.name.as_alias("family_name"), FamilyMember.family.address.as_alias("address"),
        FamilyMember.family.postcode.as_alias("postcode"), FamilyMember.family.city.as_alias("city"),
        FamilyMember.family.country.as_alias("country"), FamilyMember.joined_at).where(
        FamilyMember.patient == patient_id)
    return plain_rows(rows, FAMILY_FIELDS)


async def _erase_family(patient_id: int) -> int:
    """The membership; a family left with no member goes too (its address was only the household's)."""
    removed = await FamilyMember.delete().where(FamilyMember.patient == patient_id).returning(FamilyMember.family)
    for row in removed:
        if not await FamilyMember.exists().where(FamilyMember.family == row["family"]):
            await Family.delete().where(Family.id == row["family"])
    return len(removed)


async def _guardian_of(patient_id: int) -> list[dict]:
    rows = await Guardian.raw(
        "SELECT p.given_name || ' ' || p.family_name AS child, g.relationship, g.created_at FROM guardian g "
        "JOIN patient p ON p.id = g.patient WHERE g.guardian_patient = {} ORDER BY g.id", patient_id)
    return plain_rows(rows, GUARDIAN_OF_FIELDS)


async def _erase_guardian_of(patient_id: int) -> int:
    """The links naming this patient as a guardian (each holds a copy of their name and confirmed addresses)."""
    return len(await Guardian.delete().where(Guardian.guardian_patient == patient_id).returning(Guardian.id))


register(DataCategory(
    read_permission=DEMOGRAPHICS,
    name="family", title=lazy_gettext("Family"), order=16, retention="administrative", basis="on_request",
    purpose=lazy_gettext("To know who lives together, keep one address for the household and, on request, send the "
                         "household's bills to one account."),
    legal_basis=CONTRACT, recipients=("hosting",), fields=FAMILY_FIELDS, collect=_family, erase=_erase_family))
register(DataCategory(
    read_permission=DEMOGRAPHICS,
    name="guardian_of", title=lazy_gettext("Children you are a guardian of"), order=17, retention="administrative",
    basis="on_request",
    purpose=lazy_gettext("To know who may decide for a child and reach them at confirmed addresses."),
    legal_basis=lazy_gettext("GDPR Art. 6(1)(c) and Art. 8 (consent for children)"), recipients=("hosting",),
    fields=GUARDIAN_OF_FIELDS, collect=_guardian_of, erase=_erase_guardian_of))
