"""What the account page shows: the ledger with its running balance, balance, aging, invoices, open work."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from portal import audit
from portal.billing import accounts, coverage, instalments, invoices, ledger, payers, payments
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, require
from portal.tables import Patient

SHOWN = 50  # ledger rows on the page unless all are asked for (balance and aging always count every entry)


async def account_overview(actor: Actor, patient_id: int, everything: bool = False) -> dict:
    """Everything on the patient's account page, read in one go and audited as one view."""
    require(actor, Permission.HANDLE_PAYMENTS)
    await ensure_in_clinic(actor, patient_id)
    account_id = await accounts.account_id_of(actor.clinic_id, patient_id)
    account = await accounts.account(actor.clinic_id, account_id)
    entries = ledger.with_running_balance(await ledger.entries(account_id))
    today = datetime.now(timezone.utc).astimezone(ZoneInfo(actor.time_zone)).date()
    # The page's patient is a member of the account it is billed to; one query fewer than reading them again.
    patient = next((m for m in account["members"] if m["id"] == patient_id), None) or await Patient.select(
        Patient.id, Patient.given_name, Patient.family_name).where(Patient.id == patient_id).first()
    listed = await invoices.list_for_account(account_id)
    overview = {
        "patient": patient, "account": account, "entries": list(reversed(entries))[:None if everything else SHOWN],
        "hidden": 0 if everything else max(0, len(entries) - SHOWN),
        "balance": ledger.balance(entries), "aging": ledger.aging(entries, today),
        "invoices": listed, "open_invoices": payments.still_open(listed),
        "uninvoiced": await invoices.uninvoiced_charges(account_id),
        "currency": account["currency"],
        "plan": await instalments.plan_in_force(actor, account_id),
        "payer_split": coverage.split(entries, await coverage.shares_of(account_id), today),
        "coverage": await coverage.list_coverage(actor, patient_id),
        "payers": await payers.list_payers(actor, active_only=True),
    }
    await audit.record(actor, "account.viewed", patient_id=patient_id, object_type="billing_account",
                       object_id=account_id)
    return overview
