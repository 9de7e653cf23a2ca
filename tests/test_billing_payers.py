"""Third-party payers: the payer's expected share of a charge, the account split into what the patient and what
payers owe, claims as PDF and CSV with the payer recorded as recipient, the payer's payment on the ledger, a
rejection moving the share back to the patient, append-only money, roles and tenancy."""

import csv
import io
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import asyncpg
import pytest

from portal.billing import accounts, claim_documents, claims, coverage, ledger, payers
from portal.errors import Forbidden, ValidationFailed
from portal.permissions import Role
from portal.tables import Disclosure, LedgerEntry, PayerShare
from tests import factories
from tests.factories import post_form, sign_in_as

D = Decimal


def test_a_share_is_rounded_half_up_to_cents_and_never_exceeds_the_charge():
    share = payers.expected_share
    assert share(D("10.00"), payers.Rate(percent=D("33.33"))) == D("3.33")
    assert share(D("0.10"), payers.Rate(percent=D("25"))) == D("0.03")  # 0.025 rounds up, not to even
    assert share(D("105.00"), payers.Rate(percent=D("80"))) == D("84.00")
    assert share(D("105.00"), payers.Rate(amount=D("250.00"))) == D("105.00")  # a fixed amount is capped
    assert share(D("105.00"), payers.Rate(percent=D("100"))) == D("105.00")
    assert share(D("105.00"), None) == D("0.00")
    for cents in range(1, 2000, 37):
        charge = D(cents) / 100
        for pct in ("0", "12.5", "33.33", "66.67", "99.99", "100"):
            value = share(charge, payers.Rate(percent=D(pct)))
            assert D("0") <= value <= charge and value == value.quantize(D("0.01"))


def test_rates_are_read_as_a_percentage_or_a_fixed_amount():
    assert payers.parse_rate("80 %") == payers.Rate(percent=D("80"))
    assert payers.parse_rate("250,00") == payers.Rate(amount=D("250.00"))
    assert payers.parse_rate("") is None
    assert payers.parse_rate("120 %") is False and payers.parse_rate("a lot") is False
    assert payers.parse_rate("1.234") is False


def _at(days_ago: int, today: date) -> datetime:
    return datetime.combine(today - timedelta(days=days_ago), datetime.min.time(), timezone.utc)


def test_the_account_splits_into_what_the_patient_and_what_the_payer_owes_with_aging():
    today = date(2026, 12, 1)
    entries = [
        {"id": 1, "kind": "charge", "amount": D("105.00"), "at": _at(100, today), "code": "FI2", "description": ""},
        {"id": 2, "kind": "charge", "amount": D("55.00"), "at": _at(40, today), "code": "EX01", "description": ""},
        {"id": 3, "kind": "payment", "amount": D("-10.00"), "at": _at(35, today), "code": "", "description": ""},
        {"id": 4, "kind": "payment", "amount": D("-30.00"), "at": _at(5, today), "code": "", "description": ""},
        {"id": 5, "kind": "charge", "amount": D("20.00"), "at": _at(2, today), "code": "X", "description": ""},
    ]
    shares = [  # the payer expected 84 of charge 1 and paid 30 (entry 4); of charge 2 expected 44, rejected 44
        {"charge": 1, "payer": 9, "kind": "expected", "amount": D("84.00"), "entry": None},
        {"charge": 1, "payer": 9, "kind": "paid", "amount": D("-30.00"), "entry": 4},
        {"charge": 2, "payer": 9, "kind": "expected", "amount": D("44.00"), "entry": None},
        {"charge": 2, "payer": 9, "kind": "rejected", "amount": D("-44.00"), "entry": None},
    ]
    result = coverage.split(entries, shares, today)
    assert result.payer_balance == D("54.00")  # 84 - 30
    assert result.patient_balance == D("21.00") + D("55.00") - D("10.00") + D("20.00")
    assert result.patient_balance + result.payer_balance == ledger.balance(entries)
    assert result.payer_aging.days_90 == D("54.00") and result.payer_aging.current == D("0.00")
    # the patient's 10.00 settles their oldest part (21.00 of the 100-day charge) first
    assert (result.patient_aging.days_90, result.patient_aging.days_30, result.patient_aging.current) == (
        D("11.00"), D("55.00"), D("20.00"))
    assert [(s["charge"], s["open"]) for s in result.shares] == [(1, D("54.00")), (2, D("0.00"))]


async def _patient_with_claim(clinic, cal, **fields):
    patient = await factories.make_patient(clinic, given_name="Ilse", family_name="Kramer",
                                           date_of_birth="1980-02-03", **fields)
    ids = await factories.make_payer_claim(clinic, cal["dentist"], patient)
    return patient, ids


async def test_completing_covered_work_records_the_payers_share_and_the_page_shows_both_balances(
        client, clinic, cal):
    patient, ids = await _patient_with_claim(clinic, cal)
    shares = await PayerShare.select(PayerShare.kind, PayerShare.amount, PayerShare.payer)
    assert shares == [{"kind": "expected", "amount": D("84.00"), "payer": ids["payer_id"]}]
    await sign_in_as(client, clinic)
    page = await client.get(f"/patients/{patient}/account")
    assert page.status_code == 200
    assert re.search(r"21[.,]00", page.text.split('id="patient-owes"')[1][:60])
    assert re.search(r"84[.,]00", page.text.split('id="payer-owes"')[1][:60])
    assert "M-4711" in page.text and "Zilveren Fund" in page.text


async def test_uncovered_days_and_ended_cover_get_no_share(clinic, cal):
    patient = await factories.make_patient(clinic)
    payer_id = await payers.add_payer(clinic, payers.PayerForm(name="Fund", default_percent="50"))
    today = factories.clinic_today()
    cover = await coverage.add_coverage(clinic, patient, coverage.CoverageForm(
        payer=str(payer_id), member_number="A1", valid_from=(today + timedelta(days=3)).isoformat()))
    assert await coverage.coverage_in_force(clinic.clinic_id, patient, today) is None
    assert await coverage.coverage_in_force(clinic.clinic_id, patient, today + timedelta(days=3))
    await coverage.end_coverage(clinic, patient, cover, today + timedelta(days=5))
    assert await coverage.coverage_in_force(clinic.clinic_id, patient, today + timedelta(days=6)) is None


async def test_payer_money_is_append_only(clinic, cal):
    patient, ids = await _patient_with_claim(clinic, cal)
    await claims.mark_sent(clinic, ids["claim_id"])
    for table in ("payer_share", "payer_claim", "payer_claim_line", "payer_claim_event"):
        for sql in (f"UPDATE {table} SET clinic = clinic", f"DELETE FROM {table}"):
            with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
                await PayerShare.raw(sql)
    assert await PayerShare.count() == 1


async def test_the_claim_pdf_and_csv_carry_every_line_and_record_the_payer_as_recipient(client, clinic, cal):
    patient, ids = await _patient_with_claim(clinic, cal)
    claim = await claims.read(clinic, ids["claim_id"], audited=False)
    assert claim["number"].startswith(f"CL{factories.clinic_today().year}-") and claim["total"] == D("84.00")
    blocks = claim_documents.claim_blocks(claim, {"currency": "EUR", "time_zone": "Europe/Amsterdam"})
    facts = dict(blocks[0].pairs)
    assert facts["Claim number"] == claim["number"] and "Zilveren Fund" in facts["Claim to"]
    assert facts["Payer identifier"] == "UZOVI 3311"
    row = blocks[1].rows[0]
    assert row[1] == "Ilse Kramer" and row[3] == "M-4711" and row[4] == "FI2"
    assert "105.00" in row[6] and "84.00" in row[7] and "84.00" in blocks[1].total[-1]

    await sign_in_as(client, clinic)
    pdf = await client.get(f"/billing/claims/{ids['claim_id']}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert claim["number"].encode() in pdf.content  # the title in the document's info
    response = await client.get(f"/billing/claims/{ids['claim_id']}/csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][0] == "Claim number" and len(rows) == 2
    assert rows[1][:5] == [claim["number"], factories.clinic_today().isoformat(), "Ilse Kramer", "1980-02-03", "M-4711"]
    assert rows[1][-2:] == ["105.00", "84.00"]
    told = await Disclosure.select(Disclosure.recipient_kind, Disclosure.recipient_name, Disclosure.subject_type,
                                   Disclosure.recipient_address).where(Disclosure.patient == patient)
    assert told == [{"recipient_kind": "payer", "recipient_name": "Zilveren Fund", "subject_type": "payer_claim",
                     "recipient_address": "claims@fund.example"}] * 2  # the PDF and the CSV


async def test_csv_cells_that_look_like_formulas_are_kept_as_text(clinic, cal):
    patient = await factories.make_patient(clinic, given_name="=HYPERLINK(1)", family_name="Smith")
    ids = await factories.make_payer_claim(clinic, cal["dentist"], patient, member_number="+31 77")
    text = claim_documents.claim_csv(await claims.read(clinic, ids["claim_id"], audited=False))
    row = list(csv.reader(io.StringIO(text)))[1]
    assert row[2] == "'=HYPERLINK(1) Smith" and row[4] == "'+31 77"


async def test_sending_records_the_recipient_and_the_payers_payment_is_posted_to_the_ledger(client, clinic, cal):
    patient, ids = await _patient_with_claim(clinic, cal)
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, desk)  # the front desk sends claims and books the payer's money
    claim_url = f"/billing/claims/{ids['claim_id']}"
    paid_early = await post_form(client, f"{claim_url}/payment", {"amount": "84.00"})
    assert paid_early.status_code == 422  # a draft is not paid before it is sent
    assert (await post_form(client, f"{claim_url}/sent")).status_code == 303
    assert await Disclosure.count().where(Disclosure.patient == patient) == 1
    too_much = await post_form(client, f"{claim_url}/payment", {"amount": "84.01"})
    assert too_much.status_code == 422 and "84.01" in too_much.text
    assert (await post_form(client, f"{claim_url}/payment", {"amount": "50.00", "reference": "BT-1"})).status_code \
        == 303
    claim = await claims.read(clinic, ids["claim_id"], audited=False)
    assert claim["state"] == "partly_paid" and claim["open"] == D("34.00") and claim["paid"] == D("50.00")
    account = await accounts.account_id_of(clinic.clinic_id, patient)
    entries = await ledger.entries(account)
    payment = [e for e in entries if e["kind"] == "payment"]
    assert [(p["amount"], p["method"]) for p in payment] == [(D("-50.00"), "bank_transfer")]
    assert claim["number"] in payment[0]["reference"]
    result = coverage.split(entries, await coverage.shares_of(account), factories.clinic_today())
    assert (result.patient_balance, result.payer_balance) == (D("21.00"), D("34.00"))
    assert (await post_form(client, f"{claim_url}/payment", {"amount": "34.00"})).status_code == 303
    assert (await claims.read(clinic, ids["claim_id"], audited=False))["state"] == "paid"
    assert (await post_form(client, f"{claim_url}/reject", {"reason": "late"})).status_code == 422  # paid is final


async def test_a_rejected_share_moves_back_to_the_patient_as_a_new_entry(client, clinic, cal):
    patient, ids = await _patient_with_claim(clinic, cal)
    await claims.mark_sent(clinic, ids["claim_id"])
    await claims.record_payment(clinic, ids["claim_id"], claims.ClaimPaymentForm(amount="4.00"))
    await sign_in_as(client, clinic)
    refused = await post_form(client, f"/billing/claims/{ids['claim_id']}/reject", {"reason": ""})
    assert refused.status_code == 422  # a reason is required
    assert (await post_form(client, f"/billing/claims/{ids['claim_id']}/reject",
                            {"reason": "Not insured for fillings"})).status_code == 303
    kinds = await PayerShare.select(PayerShare.kind, PayerShare.amount).order_by(PayerShare.id)
    assert kinds == [{"kind": "expected", "amount": D("84.00")}, {"kind": "paid", "amount": D("-4.00")},
                     {"kind": "rejected", "amount": D("-80.00")}]
    account = await accounts.account_id_of(clinic.clinic_id, patient)
    result = coverage.split(await ledger.entries(account), await coverage.shares_of(account), factories.clinic_today())
    assert (result.patient_balance, result.payer_balance) == (D("101.00"), D("0.00"))
    assert (await claims.read(clinic, ids["claim_id"], audited=False))["state"] == "rejected"
    # the share is no longer open: a new claim finds nothing
    with pytest.raises(ValidationFailed):
        await claims.draft(clinic, claims.DraftForm(payer=str(ids["payer_id"])), patient)


async def test_a_claim_for_one_payer_gathers_every_patients_open_shares_in_the_date_range(clinic, cal):
    first = await factories.make_patient(clinic, given_name="One")
    ids = await factories.make_payer_claim(clinic, cal["dentist"], first)
    second = await factories.make_patient(clinic, given_name="Two")
    await coverage.add_coverage(clinic, second, coverage.CoverageForm(
        payer=str(ids["payer_id"]), member_number="M-2", valid_from=factories.clinic_today().isoformat()))
    from tests.test_billing_ledger import completed_filling

    await completed_filling(clinic, cal["dentist"], second)
    today = factories.clinic_today().isoformat()
    earlier = (factories.clinic_today() - timedelta(days=10)).isoformat()
    with pytest.raises(ValidationFailed):  # nothing was done in that range
        await claims.draft(clinic, claims.DraftForm(payer=str(ids["payer_id"]), date_to=earlier))
    claim_id = await claims.draft(clinic, claims.DraftForm(payer=str(ids["payer_id"]), date_from=today,
                                                           date_to=today))
    claim = await claims.read(clinic, claim_id, audited=False)
    assert [line["patient"] for line in claim["lines"]] == [second]  # the first one's share is on a live claim
    assert claim["seq"] == 2


async def test_only_owners_manage_payers_and_another_clinics_payer_is_refused(client, clinic, other_clinic, cal):
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    with pytest.raises(Forbidden):
        await payers.add_payer(desk, payers.PayerForm(name="Desk Fund"))
    foreign = await payers.add_payer(other_clinic, payers.PayerForm(name="Foreign Fund", default_percent="100"))
    patient = await factories.make_patient(clinic)
    await sign_in_as(client, desk)
    assert (await client.get("/settings/billing/payers")).status_code == 403
    response = await post_form(client, f"/patients/{patient}/account/coverage", {
        "payer": str(foreign), "member_number": "X", "valid_from": factories.clinic_today().isoformat()})
    assert response.status_code == 422 and "Foreign Fund" not in response.text
    with pytest.raises(ValidationFailed):
        await claims.draft(clinic, claims.DraftForm(payer=str(foreign)))
    assert await LedgerEntry.count() == 0


async def test_the_owner_sets_a_fixed_rate_per_fee_code_and_a_bad_rate_is_shown_beside_its_field(client, clinic, cal):
    patient = await factories.make_patient(clinic)
    await sign_in_as(client, clinic)
    added = await post_form(client, "/settings/billing/payers", {"name": "Fund", "default_percent": "0"})
    assert added.status_code == 303
    payer_id = int(added.headers["location"].rstrip("/").rsplit("/", 1)[1])
    from portal.charts import fee_schedule
    from tests.test_billing_ledger import completed_filling

    await fee_schedule.load_demo_schedule(clinic)
    code = [c for c in await fee_schedule.list_codes(clinic) if c["code"] == "FI2"][0]
    bad = await post_form(client, f"/settings/billing/payers/{payer_id}", {
        "name": "Fund", "default_percent": "0", "active": "1", f"rate_{code['id']}": "lots"})
    assert bad.status_code == 422 and 'value="lots"' in bad.text and f'id="e-rate_{code["id"]}"' in bad.text
    saved = await post_form(client, f"/settings/billing/payers/{payer_id}", {
        "name": "Fund", "default_percent": "0", "active": "1", f"rate_{code['id']}": "60.00"})
    assert saved.status_code == 303
    await coverage.add_coverage(clinic, patient, coverage.CoverageForm(
        payer=str(payer_id), member_number="F-1", valid_from=factories.clinic_today().isoformat()))
    await completed_filling(clinic, cal["dentist"], patient)
    assert [s["amount"] for s in await PayerShare.select(PayerShare.amount)] == [D("60.00")]


async def test_the_retention_engine_erases_cover_claim_lines_and_shares_with_the_account(clinic, cal):
    from portal.db import transaction
    from portal.privacy.categories import allow_erasure
    from portal.privacy.registry import CATEGORIES, all_categories
    from portal.tables import PayerClaimLine, PayerCoverage

    patient, ids = await _patient_with_claim(clinic, cal)
    await claims.mark_sent(clinic, ids["claim_id"])
    await claims.record_payment(clinic, ids["claim_id"], claims.ClaimPaymentForm(amount="40.00"))
    assert await CATEGORIES["payer_coverage"].collect(patient) and await CATEGORIES["payer_claims"].collect(patient)
    async with transaction():
        await allow_erasure()
        for category in all_categories():  # every category, in the engine's order, identity last
            await category.erase(patient)
    assert await PayerCoverage.count() == 0 and await PayerClaimLine.count() == 0 and await PayerShare.count() == 0
    assert await LedgerEntry.count() == 0  # the account the patient headed alone went with them


async def test_a_credit_note_cancels_the_payers_open_share_so_nobody_owes_it(clinic, cal):
    from portal.billing import invoices

    patient, ids = await _patient_with_claim(clinic, cal)
    invoice_id = await invoices.issue(clinic, patient)
    await invoices.credit(clinic, patient, invoice_id, invoices.CreditForm(reason="Wrong tooth"))
    account = await accounts.account_id_of(clinic.clinic_id, patient)
    result = coverage.split(await ledger.entries(account), await coverage.shares_of(account), factories.clinic_today())
    assert (result.patient_balance, result.payer_balance) == (D("0.00"), D("0.00"))
    assert [(s["credited"], s["open"]) for s in result.shares] == [(D("84.00"), D("0.00"))]
    assert (await claims.read(clinic, ids["claim_id"], audited=False))["open"] == D("0.00")
