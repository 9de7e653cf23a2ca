"""Payment plans: the front desk spreads what is owed over monthly instalments, payments cover them in due order,
the overdue list, append-only plans, and reminders only to payers who consented, once each."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import asyncpg
import pytest

from portal import consents
from portal.billing import accounts, instalments, payments
from portal.consents import ConsentChange, ConsentKind
from portal.db import transaction
from portal.permissions import Role
from portal.tables import AuditEntry, OutboxMessage, PaymentInstalment, PaymentPlan
from tests import factories
from tests.factories import post_form, sign_in_as
from tests.test_billing_ledger import completed_filling


def test_instalments_split_in_cents_and_fall_on_the_same_day_each_month():
    assert instalments.split(Decimal("100.00"), 3) == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    assert instalments.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert instalments.add_months(date(2026, 11, 15), 2) == date(2027, 1, 15)


async def test_the_front_desk_agrees_a_plan_and_payments_cover_instalments_in_due_order(client, clinic, cal):
    patient = await factories.make_patient(clinic)
    await completed_filling(clinic, cal["dentist"], patient)  # 105.00 owed
    await sign_in_as(client, await factories.make_staff(clinic, Role.RECEPTIONIST))
    first = (date.today() + timedelta(days=10)).isoformat()
    too_much = await post_form(client, f"/patients/{patient}/account/plans",
                               {"plan_total": "500.00", "instalments": "3", "first_due": first, "note": "kept"})
    assert too_much.status_code == 422 and 'id="e-plan_total"' in too_much.text and 'value="kept"' in too_much.text
    assert await PaymentPlan.count() == 0
    done = await post_form(client, f"/patients/{patient}/account/plans",
                           {"plan_total": "105.00", "instalments": "3", "first_due": first})
    assert done.status_code == 303
    await payments.take_payment(clinic, patient, payments.PaymentForm(amount="50.00", method="card"))
    page = (await client.get(f"/patients/{patient}/account")).text
    plan = page.split('id="plan-title"', 1)[1].split("</article>", 1)[0]
    assert plan.count("35,00") >= 3 and "Partly paid" in plan and ">Paid<" in plan
    assert await AuditEntry.exists().where(AuditEntry.action == "payment_plan.created")
    with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
        await PaymentInstalment.raw("UPDATE payment_instalment SET amount = 1")
    with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
        await PaymentPlan.raw("DELETE FROM payment_plan")


async def _plan_due(clinic, patient: int, due: list[date]) -> int:
    """A plan agreed earlier (past due dates cannot be chosen now, so it is stored as it would have been)."""
    account = await accounts.account_id_of(clinic.clinic_id, patient)
    plan = (await PaymentPlan.insert(PaymentPlan(
        clinic=clinic.clinic_id, account=account, patient=patient, total=Decimal("105.00"),
        created_at=datetime.now(timezone.utc) - timedelta(days=60))).returning(PaymentPlan.id))[0]["id"]
    for seq, (day, amount) in enumerate(zip(due, instalments.split(Decimal("105.00"), len(due))), start=1):
        await PaymentInstalment.insert(PaymentInstalment(clinic=clinic.clinic_id, plan=plan, seq=seq, due_on=day,
                                                         amount=amount))
    return plan


async def test_the_overdue_list_shows_plans_behind_their_due_dates(client, clinic, cal):
    late = await factories.make_patient(clinic, given_name="Laura", family_name="Late")
    on_time = await factories.make_patient(clinic, given_name="Otto", family_name="Ontime")
    today = date.today()
    for patient in (late, on_time):
        await completed_filling(clinic, cal["dentist"], patient)
        await _plan_due(clinic, patient, [today - timedelta(days=20), today + timedelta(days=10)])
    await payments.take_payment(clinic, on_time, payments.PaymentForm(amount="52.50", method="cash"))
    await sign_in_as(client, await factories.make_staff(clinic, Role.RECEPTIONIST))
    page = await client.get("/billing/overdue")
    assert page.status_code == 200 and "Laura Late" in page.text and "Ontime" not in page.text
    assert "52,50" in page.text
    shown = await AuditEntry.select(AuditEntry.patient_id).where(
        (AuditEntry.action == "payment_plan.overdue_listed") & (AuditEntry.object_type == "patient"))
    assert [r["patient_id"] for r in shown] == [late]


async def test_reminders_go_once_and_only_to_payers_who_consented(clinic, cal):
    today = date.today()
    consenting = await factories.make_patient(clinic, email="yes@example.org")
    silent = await factories.make_patient(clinic, email="no@example.org")
    await consents.record_change(clinic, clinic.clinic_id, consenting,
                                 ConsentChange(ConsentKind.REMINDER_EMAIL, True, "front_desk"))
    for patient in (consenting, silent):
        await completed_filling(clinic, cal["dentist"], patient)
        await _plan_due(clinic, patient, [today - timedelta(days=3), today + timedelta(days=2),
                                          today + timedelta(days=40)])
    assert await instalments.send_reminders() == 2  # one overdue, one upcoming; the third is weeks away
    assert await instalments.send_reminders() == 0
    sent = await OutboxMessage.select(OutboxMessage.idempotency_key, OutboxMessage.patient_id)
    assert {r["patient_id"] for r in sent if r["idempotency_key"].startswith("instalment:")} == {consenting}
    assert sorted(r["idempotency_key"].rsplit(":", 1)[1] for r in sent
                  if r["idempotency_key"].startswith("instalment:")) == ["overdue", "upcoming"]


async def test_a_plan_is_in_the_patients_data_and_goes_with_the_account_the_retention_engine_erases(clinic, cal):
    from portal.privacy.money_records import _plans
    from portal.privacy.registry import CATEGORIES

    patient = await factories.make_patient(clinic)
    await completed_filling(clinic, cal["dentist"], patient)
    await _plan_due(clinic, patient, [date.today() + timedelta(days=5), date.today() + timedelta(days=35)])
    rows = await _plans(patient)
    assert [(r["seq"], r["amount"]) for r in rows] == [(1, "52.50"), (2, "52.50")]
    async with transaction():
        await CATEGORIES["account_ledger"].erase(patient)
    assert await PaymentPlan.count() == 0 and await PaymentInstalment.count() == 0


async def test_the_account_pages_open_invoices_agree_with_the_payment_rule(clinic, cal):
    from portal.billing import invoices

    patient = await factories.make_patient(clinic)
    first = await factories.make_invoice(clinic, patient)
    await completed_filling(clinic, cal["dentist"], patient)
    await invoices.issue(clinic, patient)
    await payments.take_payment(clinic, patient, payments.PaymentForm(amount="20.00", method="cash"))
    await invoices.credit(clinic, patient, first, invoices.CreditForm(reason="Wrong code"))
    account = await accounts.account_id_of(clinic.clinic_id, patient)
    expected = [(i["id"], i["open"]) for i in await payments.open_invoices(account)]
    assert expected and [(i["id"], i["open"]) for i in payments.still_open(
        await invoices.list_for_account(account))] == expected
