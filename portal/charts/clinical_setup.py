"""The clinic's chart settings: which tooth numbering staff see, and the currency of new plans."""

from dataclasses import dataclass

from portal import audit
from portal.db import transaction
from portal.errors import ValidationFailed
from portal.forms import collect
from portal.i18n import gettext, lazy_gettext
from portal.permissions import Actor, Permission, require
from portal.tables import Clinic

NUMBERINGS = {"fdi": lazy_gettext("FDI (ISO 3950): 11–48, primary 51–85"),
              "universal": lazy_gettext("Universal: 1–32, primary A–T")}
CURRENCIES = ("EUR", "GBP", "CHF", "USD", "SEK", "NOK", "DKK", "PLN", "CZK", "CAD", "AUD")


@dataclass(frozen=True)
class ChartSettingsForm:
    tooth_numbering: str = "fdi"
    currency: str = "EUR"


async def current(actor: Actor) -> ChartSettingsForm:
    row = await Clinic.select(Clinic.tooth_numbering, Clinic.currency).where(Clinic.id == actor.clinic_id).first()
    return ChartSettingsForm(tooth_numbering=row["tooth_numbering"], currency=row["currency"])


async def save(actor: Actor, form: ChartSettingsForm) -> None:
    require(actor, Permission.MANAGE_CLINIC)
    currency = form.currency.strip().upper()
    errors = collect(tooth_numbering=None if form.tooth_numbering in NUMBERINGS
                     else gettext("Choose FDI or Universal."),
                     currency=None if currency in CURRENCIES
                     else gettext("Choose one of: %(choices)s.", choices=", ".join(CURRENCIES)))
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        await Clinic.update({Clinic.tooth_numbering: form.tooth_numbering, Clinic.currency: currency}).where(
            Clinic.id == actor.clinic_id)
        await audit.record(actor, "clinic.chart_settings", object_type="clinic", object_id=actor.clinic_id,
                           detail={"tooth_numbering": form.tooth_numbering, "currency": currency})
