"""What the account page shows: the ledger with its running balance, balance, aging, invoices, open work."""

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from portal import audit
from portal.billing import accounts, coverage, instalments, invoices, ledger, payments
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, require
from portal.tables import BillingAccount, LedgerEntry, Patient

SHOWN = 50  # ledger rows on the page unless all are asked for (balance and aging always count every entry)


async def account_overview(actor: Actor, patient_id: int, everything: bool = False) -> dict:
    """Everything on the patient's account page, read in one go and audited as one view.

    Seven statements with the session's: the account with its members and currency (also the clinic check), the
    ledger with each charge's invoiced flag (the uninvoiced charges come from it), the invoices, the plan in force,
    the third-party part (shares, covers, payers) and the audit row.
    """
    require(actor, Permission.HANDLE_PAYMENTS)
    account = await _account_of(actor, patient_id)
    account_id = account["id"]
    rows = await LedgerEntry.raw(_ENTRIES, account_id)
    entries = ledger.with_running_balance(rows)
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
        "uninvoiced": [e for e in entries if e["kind"] == "charge" and not e["invoiced"]],
        "currency": account["currency"],
        "plan": await instalments.plan_in_force(actor, account_id),
    }
    third_party = await coverage.payer_side(actor.clinic_id, account_id, patient_id)
    overview.update(payer_split=coverage.split(entries, third_party["shares"], today),
                    coverage=third_party["coverage"], payers=third_party["payers"])
    await audit.record(actor, "account.viewed", patient_id=patient_id, object_type="billing_account",
                       object_id=account_id)
    return overview


# The ledger as `ledger.entries` reads it, plus whether a charge is on an invoice (what `uninvoiced_charges` asks;
# the page only counts those). Indexes: ledger_entry_account_idx, invoice_line_entry_idx.
_ENTRIES = (
    "SELECT e.id, e.patient, e.kind, e.amount, e.method, e.plan_item, e.code, e.description, e.vat_rate, e.provider, "
    "e.invoice, e.reference, e.reason, e.recorded_by_name, e.at, "
    "e.kind = 'charge' AND EXISTS (SELECT 1 FROM invoice_line l WHERE l.entry = e.id) AS invoiced "
    "FROM ledger_entry e WHERE e.account = {} ORDER BY e.at, e.id")

# The account the patient is billed to, with the clinic's currency and the members (as `accounts.account` gives
# them), in one statement that is also the check that the patient is this clinic's and not isolated.
_ACCOUNT = (
    "SELECT a.*, c.currency, (SELECT coalesce(json_agg(json_build_object('id', q.id, 'given_name', q.given_name, "
    "'family_name', q.family_name, 'email', q.email, 'address', q.address) ORDER BY q.family_name, q.given_name), "
    "'[]'::json) FROM patient q WHERE q.id = ANY(ARRAY(SELECT k.patient FROM billing_member k "
    "WHERE k.account = a.id))) AS members "
    "FROM patient p JOIN billing_member m ON m.patient = p.id JOIN billing_account a ON a.id = m.account "
    "AND a.clinic = p.clinic JOIN clinic c ON c.id = a.clinic "
    "WHERE p.id = {} AND p.clinic = {} AND p.isolated_at IS NULL")


async def _account_of(actor: Actor, patient_id: int) -> dict:
    found = await BillingAccount.raw(_ACCOUNT, patient_id, actor.clinic_id)
    if not found:  # not this clinic's patient (NotFound), or no account yet: opened as at any first need
        await ensure_in_clinic(actor, patient_id)
        return await accounts.account(actor.clinic_id, await accounts.account_id_of(actor.clinic_id, patient_id))
    row = found[0]
    members = row["members"]
    row["members"] = json.loads(members) if isinstance(members, str) else members
    guarantor = [m for m in row["members"] if m["id"] == row["guarantor"]]
    row["payer"] = guarantor[0] if guarantor else (row["members"][0] if row["members"] else None)
    return row
