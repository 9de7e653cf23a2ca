"""Billing accounts: each patient is billed to one account, their own or a family account a guarantor heads."""

from portal import audit
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.i18n import _
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, require
from portal.tables import BillingAccount, BillingMember, LedgerEntry, Patient


async def account_id_of(clinic_id: int, patient_id: int) -> int:
    """The account the patient's treatment is billed to, opened (their own) at the first need.

    Two first needs at once (a charge and a payment) both insert; the member row's unique patient decides, and
    the loser's empty account is removed again.
    """
    row = await BillingMember.select(BillingMember.account).where(BillingMember.patient == patient_id).first()
    if row is not None:
        return row["account"]
    patient = await Patient.select(Patient.given_name, Patient.family_name).where(
        (Patient.id == patient_id) & (Patient.clinic == clinic_id)).first()
    if patient is None:
        raise NotFound()
    name = f"{patient['given_name']} {patient['family_name']}"
    async with transaction():
        account = (await BillingAccount.raw(
            "INSERT INTO billing_account (clinic, kind, guarantor, name) VALUES ({}, 'patient', {}, {}) RETURNING id",
            clinic_id, patient_id, name))[0]["id"]
        joined = await BillingMember.raw(
            "INSERT INTO billing_member (clinic, patient, account) VALUES ({}, {}, {}) "
            "ON CONFLICT (patient) DO NOTHING RETURNING account", clinic_id, patient_id, account)
        if not joined:
            await BillingAccount.delete().where(BillingAccount.id == account)
    if joined:
        return account
    return (await BillingMember.select(BillingMember.account).where(BillingMember.patient == patient_id).first()
            )["account"]


async def lock(account_id: int) -> None:
    """Serialise money on one account (payments, invoices, allocations) for the rest of the transaction."""
    await BillingAccount.raw("SELECT id FROM billing_account WHERE id = {} FOR UPDATE", account_id)


async def account(clinic_id: int, account_id: int) -> dict:
    """The account with its members, its payer (the guarantor, else the first member) and the clinic's currency."""
    found = await BillingAccount.raw("SELECT a.*, c.currency FROM billing_account a JOIN clinic c ON c.id = a.clinic "
                                     "WHERE a.id = {} AND a.clinic = {}", account_id, clinic_id)
    if not found:
        raise NotFound()
    row = found[0]
    row["members"] = await Patient.raw(
        "SELECT p.id, p.given_name, p.family_name, p.email, p.address FROM billing_member m "
        "JOIN patient p ON p.id = m.patient WHERE m.account = {} ORDER BY p.family_name, p.given_name", account_id)
    guarantor = [m for m in row["members"] if m["id"] == row["guarantor"]]
    row["payer"] = guarantor[0] if guarantor else (row["members"][0] if row["members"] else None)
    return row


async def share_account(actor: Actor, patient_id: int, guarantor_patient_id: int) -> int:
    """Bill the patient from now on to the guarantor's account (a family account); their own must be settled.

    Past entries stay on the account they were made on: moving a patient never rewrites money already booked.
    """
    require(actor, Permission.HANDLE_PAYMENTS)
    await ensure_in_clinic(actor, patient_id)
    if patient_id == guarantor_patient_id:
        raise ValidationFailed({"guarantor": _("Choose another patient to share an account with.")})
    try:
        await ensure_in_clinic(actor, guarantor_patient_id)
    except NotFound:
        raise ValidationFailed({"guarantor": _("No patient with that number in this clinic.")}) from None
    own = await account_id_of(actor.clinic_id, patient_id)
    target = await account_id_of(actor.clinic_id, guarantor_patient_id)
    if own == target:
        raise ValidationFailed({"guarantor": _("These patients already share an account.")})
    async with transaction():
        await lock(own)
        total = (await LedgerEntry.raw("SELECT coalesce(sum(amount), 0) AS s FROM ledger_entry WHERE account = {}",
                                       own))[0]["s"]
        if total != 0:
            raise ValidationFailed({"guarantor": _("Settle this account's balance before moving the patient.")})
        guarantor = await Patient.select(Patient.family_name).where(Patient.id == guarantor_patient_id).first()
        await BillingAccount.update({BillingAccount.kind: "family",
                                     BillingAccount.name: _("Family %(name)s", name=guarantor["family_name"])}
                                    ).where(BillingAccount.id == target)
        await BillingMember.update({BillingMember.account: target}).where(BillingMember.patient == patient_id)
        await audit.record(actor, "billing.account_shared", patient_id=patient_id, object_type="billing_account",
                           object_id=target, detail={"guarantor": guarantor_patient_id, "from": own})
    return target
