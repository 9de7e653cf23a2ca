"""The supervisory authority a patient may complain to (GDPR Art. 77), named in every refusal with the right to
a judicial remedy (Art. 79, Art. 12(4)); each clinic sets its own, with a default for its country."""

from dataclasses import dataclass

from portal import audit
from portal.db import transaction
from portal.errors import ValidationFailed
from portal.forms import collect, required, too_long
from portal.i18n import _
from portal.permissions import Actor, Permission, require
from portal.tables import Clinic

# Where one exists, the authority for a clinic in that country (name, website).
DEFAULTS = {
    "NL": ("Autoriteit Persoonsgegevens", "https://autoriteitpersoonsgegevens.nl"),
    "DE": ("Die Datenschutzaufsichtsbehörde Ihres Bundeslandes (Liste: Datenschutzkonferenz)",
           "https://www.datenschutzkonferenz-online.de/datenschutzaufsichtsbehoerden.html"),
    "AT": ("Österreichische Datenschutzbehörde", "https://www.dsb.gv.at"),
    "TR": ("Kişisel Verileri Koruma Kurumu (KVKK)", "https://www.kvkk.gov.tr"),
    "SG": ("Personal Data Protection Commission", "https://www.pdpc.gov.sg"),
    "MU": ("Data Protection Office", "https://dataprotection.govmu.org"),
    "CN": ("Cyberspace Administration of China", "https://www.cac.gov.cn"),
}


@dataclass(frozen=True)
class AuthorityForm:
    authority: str = ""  # the name
    authority_url: str = ""  # its website


async def authority_of(clinic_id: int) -> AuthorityForm:
    """The clinic's own choice, else its country's default, else nothing named (the text then says so)."""
    row = await Clinic.select(Clinic.country, Clinic.supervisory_authority, Clinic.supervisory_authority_url).where(
        Clinic.id == clinic_id).first()
    if row is None:
        return AuthorityForm()
    if row["supervisory_authority"]:
        return AuthorityForm(row["supervisory_authority"], row["supervisory_authority_url"])
    return AuthorityForm(*DEFAULTS.get(row["country"], ("", "")))


def remedies_text(authority: AuthorityForm) -> str:
    """The sentence every refusal carries (in the current language)."""
    if authority.authority:
        where = f"{authority.authority} ({authority.authority_url})" if authority.authority_url else authority.authority
        return _("If you disagree, you may lodge a complaint with the supervisory authority, %(authority)s, "
                 "and you may seek a judicial remedy before a court.", authority=where)
    return _("If you disagree, you may lodge a complaint with the data protection supervisory authority of "
             "your country, and you may seek a judicial remedy before a court.")


async def set_authority(actor: Actor, form: AuthorityForm) -> None:
    require(actor, Permission.MANAGE_CLINIC)
    name, website = form.authority.strip(), form.authority_url.strip()
    errors = collect(authority=required(name, _("The authority's name")) or too_long(name, 300),
                     authority_url=too_long(website, 300) or (None if not website or website.startswith(
                         ("https://", "http://")) else _("Give the full address, starting with https://.")))
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        await Clinic.update({Clinic.supervisory_authority: name,
                             Clinic.supervisory_authority_url: website}).where(Clinic.id == actor.clinic_id)
        await audit.record(actor, "privacy.authority_set", object_type="clinic", object_id=actor.clinic_id,
                           detail={"name": name, "website": website})
