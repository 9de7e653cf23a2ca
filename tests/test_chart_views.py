"""Chart pages over HTTP: what staff see, what htmx swaps, how bad input is answered."""

import re

import pytest

from portal.charts import fee_schedule, medical_history
from portal.permissions import Role
from portal.tables import AuditEntry, ClinicalNote, ProcedureCode, ToothFinding
from tests import factories
from tests.factories import post_form, sign_in_as


@pytest.fixture
async def dentist(clinic):
    return await factories.make_staff(clinic, Role.DENTIST, name="Dr. Bakker")


async def test_chart_page_draws_teeth_and_shows_alerts(client, clinic, dentist):
    patient_id = await factories.make_patient(clinic, given_name="Mila")
    await medical_history.save_history(dentist, patient_id, medical_history.HistoryForm(allergies="Penicillin"))
    await sign_in_as(client, dentist)
    page = await client.get(f"/patients/{patient_id}/chart")
    assert page.status_code == 200
    assert "Penicillin allergy" in page.text
    assert page.text.count('data-tooth=') == 52  # 32 permanent + 20 primary
    assert await AuditEntry.count().where(AuditEntry.action == "tooth_chart.viewed") == 1


async def test_recording_a_finding_with_htmx_redraws_the_tooth(client, clinic, dentist):
    patient_id = await factories.make_patient(clinic)
    await sign_in_as(client, dentist)
    token = await factories.csrf_token(client)
    response = await client.post(f"/patients/{patient_id}/chart/teeth/36/findings",
                                 data={"kind": "caries", "state": "existing", "s_m": "on", "s_o": "on"},
                                 headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="chart-area">')
    assert "Tooth 36: Caries MO (existing)" in response.text
    assert len(re.findall(r'<polygon [^>]*class="sf k-caries st-existing"', response.text)) == 2


async def test_bad_finding_is_refused_beside_the_field_and_changes_nothing(client, clinic, dentist):
    patient_id = await factories.make_patient(clinic)
    await sign_in_as(client, dentist)
    response = await post_form(client, f"/patients/{patient_id}/chart/teeth/36/findings", {"kind": "caries"})
    assert response.status_code == 422
    assert "Tick the surfaces with caries." in response.text
    response = await post_form(client, f"/patients/{patient_id}/chart/teeth/36/findings", {"kind": "<script>"})
    assert response.status_code == 422 and "<script>" not in response.text
    assert (await client.get(f"/patients/{patient_id}/chart/teeth/99")).status_code == 404
    assert await ToothFinding.count() == 0


async def test_history_form_saves_versions_and_refuses_nonsense(client, clinic, dentist):
    patient_id = await factories.make_patient(clinic)
    await sign_in_as(client, dentist)
    saved = await post_form(client, f"/patients/{patient_id}/history",
                            {"medications": "Apixaban 5 mg", "smoking": "never", "pregnant": ""})
    assert saved.status_code == 303
    bad = await post_form(client, f"/patients/{patient_id}/history", {"smoking": "often", "pregnant": ""})
    assert bad.status_code == 422 and "Choose one of the listed answers." in bad.text
    page = await client.get(f"/patients/{patient_id}/history")
    assert "Anticoagulants" in page.text and "Version 1" in page.text and "Version 2" not in page.text


async def test_plan_accept_complete_and_note_amendment_over_http(client, clinic, dentist):
    await fee_schedule.load_demo_schedule(clinic)
    fi2 = await ProcedureCode.select().where(ProcedureCode.code == "FI2").first()
    patient_id = await factories.make_patient(clinic)
    await sign_in_as(client, dentist)
    created = await post_form(client, f"/patients/{patient_id}/plans", {"title": "Fillings"})
    plan_url = created.headers["location"]
    assert (await post_form(client, f"{plan_url}/items", {"procedure_code_id": str(fi2["id"]), "tooth": "36",
                                                          "phase": "1", "s_m": "on", "s_o": "on"})).status_code == 303
    refused = await post_form(client, f"{plan_url}/accept", {"accepted_by": "", "method": "in_person"})
    assert refused.status_code == 422 and "is required" in refused.text
    unsigned = await post_form(client, f"{plan_url}/accept", {"accepted_by": "Anna Jansen", "method": "in_person"})
    assert unsigned.status_code == 422 and "draw their signature" in unsigned.text
    assert 'value="Anna Jansen"' in unsigned.text
    assert (await post_form(client, f"{plan_url}/accept", {
        "accepted_by": "Anna Jansen", "method": "in_person", "signer_role": "patient",
        "strokes": "[[[10,20],[40,60],[90,80]]]"})).status_code == 303
    page = await client.get(plan_url)
    assert "accepted by <strong>Anna Jansen</strong>" in page.text and "105.00" in page.text
    assert "Drawn signature" in page.text
    document = await client.get(f"{plan_url}/pdf")
    assert document.status_code == 200 and document.content.startswith(b"%PDF")
    assert document.headers["cache-control"] == "no-store"
    item_id = re.search(r"/items/(\d+)/complete", page.text).group(1)
    assert (await post_form(client, f"{plan_url}/items/{item_id}/complete")).status_code == 303
    chart = await client.get(f"/patients/{patient_id}/chart")
    assert "Tooth 36: Filling MO (completed)" in chart.text

    await post_form(client, f"/patients/{patient_id}/notes", {"template": "exam", "body": "Tooth 36 sensitive."})
    note = await ClinicalNote.select().where(ClinicalNote.template == "exam").first()
    empty = await post_form(client, f"/patients/{patient_id}/notes/{note['id']}/amendments", {"body": "x"})
    assert empty.status_code == 422 and "The reason is required." in empty.text
    await post_form(client, f"/patients/{patient_id}/notes/{note['id']}/amendments",
                    {"body": "It was tooth 37.", "reason": "Wrong tooth"})
    notes = await client.get(f"/patients/{patient_id}/notes")
    assert notes.text.index("Tooth 36 sensitive.") < notes.text.index("It was tooth 37.")
    assert "reason: Wrong tooth" in notes.text


async def test_front_desk_sees_alerts_but_no_chart(client, clinic, dentist):
    patient_id = await factories.make_patient(clinic)
    await medical_history.save_history(dentist, patient_id, medical_history.HistoryForm(allergies="latex"))
    await sign_in_as(client, await factories.make_staff(clinic, Role.RECEPTIONIST))
    page = await client.get(f"/patients/{patient_id}")
    assert "Latex allergy" in page.text
    assert f"/patients/{patient_id}/chart" not in page.text
    for path in ("chart", "notes", "history", "plans", "chart/teeth/36"):
        assert (await client.get(f"/patients/{patient_id}/{path}")).status_code == 403


async def test_fee_schedule_refuses_bad_fees(client, clinic):
    await sign_in_as(client, clinic)
    bad = await post_form(client, "/settings/clinical/fees", {"code": "X1", "description": "Thing", "fee": "12.345"})
    assert bad.status_code == 422 and "at most two decimals" in bad.text
    assert (await post_form(client, "/settings/clinical/fees/demo")).status_code == 303
    duplicate = await post_form(client, "/settings/clinical/fees", {"code": "fi1", "description": "Again", "fee": "1"})
    assert duplicate.status_code == 422 and "already in the schedule" in duplicate.text
    switched = await post_form(client, "/settings/clinical/chart", {"tooth_numbering": "universal", "currency": "gbp"})
    assert switched.status_code == 303


async def test_alerts_show_on_the_patients_appointments(client, clinic, cal):
    from datetime import date, timedelta

    patient_id = await factories.make_patient(clinic, given_name="Alert")
    await medical_history.save_history(cal["dentist"], patient_id, medical_history.HistoryForm(
        medications="Rivaroxaban"))
    day = (date.today() + timedelta(days=7)).isoformat()
    appointment_id = await factories.book(clinic, cal, patient_id, day, "10:00")
    await sign_in_as(client, clinic)
    grid = await client.get(f"/calendar?date={day}")
    assert 'aria-label="Alerts: Anticoagulants"' in grid.text
    card = await client.get(f"/calendar/appointments/{appointment_id}")
    assert "⚠ Anticoagulants" in card.text


async def test_a_clinician_without_a_registration_number_cannot_sign(client, clinic):
    from portal import staff

    patient = await factories.make_patient(clinic)
    dentist = await factories.make_staff(clinic, Role.DENTIST)
    record = await staff.get_staff(clinic, dentist.id)
    await staff.update_staff(clinic, dentist.id, staff.StaffForm(
        name=record["name"], email=record["email"], role="dentist", registration_number="", active=True))
    await sign_in_as(client, dentist)
    refused = await post_form(client, f"/patients/{patient}/notes", {"template": "free", "body": "Seen today"})
    assert refused.status_code == 422 and "Your registration number is missing" in refused.text
    assert "highlighted field" not in refused.text and "Seen today" in refused.text
    assert await ClinicalNote.count() == 0


# --- htmx conventions (issue 12): every refused form swaps into its target and keeps the address bar ---

async def test_a_refused_finding_redraws_the_chart_area_with_the_form_and_its_message(client, clinic, dentist):
    from tests.htmx_swaps import _closest, assert_swaps_into, elements, post_like_htmx, root

    patient_id = await factories.make_patient(clinic)
    await sign_in_as(client, dentist)
    chart_url = f"/patients/{patient_id}/chart"
    page = await client.get(chart_url)
    tooth = next(e for e in elements(page.text) if e["attrs"].get("data-tooth") == "36")
    panel = await client.get(tooth["attrs"]["hx-get"], headers={"HX-Request": "true"})
    assert "#" + root(panel.text)["attrs"]["id"] == _closest(tooth, "hx-target")  # inherited from the svg
    assert _closest(tooth, "hx-swap") == "outerHTML"
    target, refused = await post_like_htmx(client, panel.text, chart_url,
                                           f"/patients/{patient_id}/chart/teeth/36/findings", {"kind": "caries"})
    assert (target, refused.status_code) == ("#chart-area", 422)
    assert_swaps_into(target, refused)
    assert "Tick the surfaces with caries." in refused.text
    assert refused.text.count("data-tooth=") == 52  # the chart is still there
    assert 'hx-target="#chart-area"' in refused.text  # and so is the form, ready for another try
    assert await ToothFinding.count() == 0


async def test_every_refused_chart_plan_note_and_guardian_form_swaps_into_its_target(client, clinic, dentist):
    from tests.htmx_swaps import assert_swaps_into, post_like_htmx

    await fee_schedule.load_demo_schedule(clinic)
    patient_id = await factories.make_patient(clinic)
    await sign_in_as(client, dentist)
    base = f"/patients/{patient_id}"
    plan_url = (await post_form(client, f"{base}/plans", {"title": "Fillings"})).headers["location"]
    fi2 = await ProcedureCode.select().where(ProcedureCode.code == "FI2").first()
    await post_form(client, f"{plan_url}/items", {"procedure_code_id": str(fi2["id"]), "tooth": "36", "phase": "1",
                                                 "s_m": "on"})
    await post_form(client, f"{base}/notes", {"template": "exam", "body": "Tooth 36 sensitive."})
    note = await ClinicalNote.select().where(ClinicalNote.template == "exam").first()
    refusals = [
        (f"{base}/history/edit", f"{base}/history", {"smoking": "often"}),
        (f"{base}/history", f"{base}/alerts", {"label": "", "severity": "high"}),
        (f"{base}/plans/", f"{base}/plans", {"title": ""}),
        (plan_url, f"{plan_url}/items", {"procedure_code_id": "", "phase": "1"}),
        (plan_url, f"{plan_url}/accept", {"accepted_by": "", "method": "in_person"}),
        (f"{base}/notes/new", f"{base}/notes", {"template": "exam", "body": ""}),
        (f"{base}/notes/{note['id']}/amend", f"{base}/notes/{note['id']}/amendments", {"body": "x"}),
        (base, f"{base}/guardians", {"name": ""}),
    ]
    for page_url, action, data in refusals:
        page = await client.get(page_url)
        assert page.status_code == 200, page_url
        target, response = await post_like_htmx(client, page.text, page_url, action, data)
        assert response.status_code == 422, (action, response.status_code)
        assert_swaps_into(target, response)
        assert response.headers.get("hx-replace-url") == "false", action


async def test_the_chart_and_tooth_chart_pages_read_the_patient_once(client, clinic, dentist, other_clinic,
                                                                     monkeypatch):
    from piccolo.engine.postgres import PostgresEngine

    patient_id = await factories.make_patient(clinic, given_name="Mila")
    await sign_in_as(client, dentist)
    assert (await post_form(client, f"/patients/{patient_id}/chart/teeth/16/findings",
                            {"kind": "caries", "state": "existing", "s_m": "on", "s_o": "on"})).status_code == 303
    statements: list[str] = []
    original = PostgresEngine.run_querystring

    async def counted(self, querystring, in_pool=True):
        statements.append(str(querystring))
        return await original(self, querystring, in_pool)

    monkeypatch.setattr(PostgresEngine, "run_querystring", counted)
    for path in (f"/patients/{patient_id}/chart", f"/patients/{patient_id}/chart/teeth"):
        statements.clear()
        page = await client.get(path)
        assert page.status_code == 200 and page.text.count("data-tooth=") == 52
        assert len(re.findall(r'<polygon [^>]*class="sf k-caries st-existing"', page.text)) == 2
        reads = [s for s in statements if re.search(r'FROM\s+"?patient"?\s', s)]
        assert len(reads) == 1, reads  # the header checks the patient and brings the clinic's numbering
    monkeypatch.setattr(PostgresEngine, "run_querystring", original)
    foreign = await factories.make_patient(other_clinic)
    assert (await client.get(f"/patients/{foreign}/chart/teeth")).status_code == 404


async def test_the_printable_chart_lists_the_findings_and_plans(client, clinic, dentist):
    patient_id = await factories.make_patient(clinic, given_name="Mila")
    await sign_in_as(client, dentist)
    await post_form(client, f"/patients/{patient_id}/chart/teeth/36/findings",
                    {"kind": "caries", "state": "existing", "s_m": "on", "s_o": "on"})
    await post_form(client, f"/patients/{patient_id}/plans", {"title": "Fillings"})
    page = await client.get(f"/patients/{patient_id}/chart/print")
    assert page.status_code == 200 and page.text.count("data-tooth=") == 52
    assert "<li>Tooth 36: Caries MO (existing)</li>" in page.text and "Fillings" in page.text
    assert "No findings recorded." not in page.text


async def test_the_chart_pages_plan_and_image_links_are_the_routers(client, app, clinic, dentist):
    from tests import image_samples

    patient_id = await factories.make_patient(clinic)
    image_id = await image_samples.stored(dentist, patient_id, teeth="36", caption="Bitewing left",
                                          taken_on="2026-01-05")
    await sign_in_as(client, dentist)
    plan_url = (await post_form(client, f"/patients/{patient_id}/plans", {"title": "Fillings"})).headers["location"]
    page = await client.get(f"/patients/{patient_id}/chart")
    plan_id = int(plan_url.rstrip("/").rsplit("/", 1)[1])
    assert f'href="{app.route_reverse("plans.show", patient_id=patient_id, plan_id=plan_id)}"' in page.text
    assert f'href="{app.route_reverse("images.show", patient_id=patient_id, image_id=image_id)}"' in page.text
    thumbnail = app.route_reverse("images.thumbnail", patient_id=patient_id, image_id=image_id)
    assert f'src="{thumbnail}"' in page.text
    assert (await client.get(thumbnail)).status_code == 200


async def test_the_chart_page_audits_each_part_it_shows_in_one_statement(client, clinic, dentist, monkeypatch):
    """Drawing, notes, plans and images: a row each, naming what was shown, all written by one INSERT."""
    import json

    from portal.charts import clinical_notes

    patient_id = await factories.make_patient(clinic)
    note = await clinical_notes.write_note(dentist, patient_id, clinical_notes.NoteForm(body="Check-up."))
    await sign_in_as(client, dentist)
    inserts = factories.statements_sent(monkeypatch, lambda sql: sql.startswith("INSERT INTO audit_entry"))
    assert (await client.get(f"/patients/{patient_id}/chart")).status_code == 200
    assert len(inserts) == 1
    rows = await AuditEntry.select(AuditEntry.action, AuditEntry.detail, AuditEntry.request_id).where(
        (AuditEntry.patient_id == patient_id) & (AuditEntry.actor_id == dentist.id)
        & AuditEntry.action.is_in(["tooth_chart.viewed", "clinical_notes.viewed", "treatment_plans.listed",
                                   "image.listed"]))
    assert sorted(r["action"] for r in rows) == ["clinical_notes.viewed", "image.listed", "tooth_chart.viewed",
                                                 "treatment_plans.listed"]
    assert len({r["request_id"] for r in rows}) == 1
    details = {r["action"]: json.loads(r["detail"]) for r in rows}
    assert details["clinical_notes.viewed"] == {"notes": [note]} and details["treatment_plans.listed"] == {"plans": []}
    assert details["image.listed"]["shown"] == 0


async def test_a_failed_part_writes_none_of_the_pages_rows(clinic, dentist, monkeypatch):
    """The page is not shown, so nothing of it is logged as seen."""
    import asyncio

    from portal.charts import chart
    from portal.imaging import images

    async def broken(*_args):
        raise RuntimeError("images unreadable")

    patient_id = await factories.make_patient(clinic)
    monkeypatch.setattr(images, "recent_images", broken)
    with pytest.raises(RuntimeError):
        await chart.chart_page(dentist, patient_id)
    await asyncio.sleep(0.05)  # the other reads, left running by gather, finish
    assert not await AuditEntry.exists().where(
        (AuditEntry.patient_id == patient_id) & AuditEntry.action.is_in(["tooth_chart.viewed", "clinical_notes.viewed"]))


async def test_the_chart_page_sends_no_limit_as_a_parameter(client, clinic, dentist, monkeypatch):
    """A LIMIT parameter keeps PostgreSQL planning a prepared statement afresh on every execution (db.literal_limit);
    the chart page is opened all day."""
    patient_id = await factories.make_patient(clinic)
    await sign_in_as(client, dentist)
    sent = factories.statements_sent(monkeypatch, as_prepared=True)
    assert (await client.get(f"/patients/{patient_id}/chart")).status_code == 200
    assert len(sent) >= 5
    assert [sql for sql in sent if re.search(r"LIMIT \$\d", sql)] == []
