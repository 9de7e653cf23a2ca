"""The privacy registry's view of payment plans: the instalments agreed on the accounts a patient heads or was
set up for, kept under tax law with the ledger they are paid into ("financial")."""

from portal.i18n import lazy_gettext
from portal.privacy.billing_records import TAX
from portal.privacy.registry import DataCategory, plain_rows, register
from portal.tables import PaymentPlan

PLAN_FIELDS = {"created_at": lazy_gettext("When the plan was agreed"), "total": lazy_gettext("Amount spread"),
               "seq": lazy_gettext("Instalment number"), "due_on": lazy_gettext("Due date"),
               "amount": lazy_gettext("Instalment amount"), "note": lazy_gettext("Note"),
               "created_by_name": lazy_gettext("Who agreed it with you")}


async def _plans(patient_id: int) -> list[dict]:
    rows = await PaymentPlan.raw(
        "SELECT l.created_at, l.total, l.note, l.created_by_name, i.seq, i.due_on, i.amount FROM payment_plan l "
        "JOIN payment_instalment i ON i.plan = l.id WHERE l.patient = {} "
        "OR l.account IN (SELECT id FROM billing_account WHERE guarantor = {}) ORDER BY l.id, i.seq",
        patient_id, patient_id)
    return plain_rows(rows, PLAN_FIELDS)


async def _erase(patient_id: int) -> int:
    return 0  # plans go with their account (billing_records' erase deletes the accounts the patient heads)


register(DataCategory(
    name="payment_plans", title=lazy_gettext("Payment plans"), order=49, retention="financial",
    basis="last_ledger_entry", purpose=lazy_gettext("The instalments agreed to pay what is owed."),
    legal_basis=TAX, recipients=("hosting", "mail"), fields=PLAN_FIELDS, collect=_plans, erase=_erase))
