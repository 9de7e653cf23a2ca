"""Perio pages over HTTP: charting a tooth (htmx and without), refusals beside the field, signing, comparing."""

import re

import pytest

from portal.charts import perio
from portal.permissions import Role
from portal.tables import AuditEntry, PerioExam, PerioTooth
from tests import factories
from tests.factories import post_form, sign_in_as


@pytest.fixture
async def hygienist(clinic):
    return await factories.make_staff(clinic, Role.HYGIENIST, name="Sanne")


async def _exam(client, patient_id: int) -> str:
    response = await post_form(client, f"/patients/{patient_id}/perio/")
    assert response.status_code == 303
    return response.headers["location"]


async def test_charting_a_tooth_with_htmx_returns_the_tooth_and_refreshes_the_summary(client, clinic, hygienist):
    patient_id = await factories.make_patient(clinic)
    await sign_in_as(client, hygienist)
    exam_url = await _exam(client, patient_id)
    page = await client.get(exam_url)
    assert page.status_code == 200
    assert page.text.count('class="perio-tooth"') == 32 and 'id="perio-keypad"' in page.text
    order = re.search(r'data-order="([^"]+)"', page.text).group(1).split()
    assert order[:3] == ["18:0", "18:1", "18:2"] and len(order) == 192
    token = await factories.csrf_token(client)
    response = await client.post(f"{exam_url}/teeth/16", headers={"HX-Request": "true", "X-CSRFToken": token},
                                 data={"d0": "5", "d1": "3", "d2": "6", "g0": "-2", "b0": "on", "furcation": "2",
                                       "mobility": "1"})
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "perio-saved"
    assert response.text.lstrip().startswith('<form id="tooth-16"')
    assert 'value="5"' in response.text and ">7<" in response.text  # CAL 5 - (-2)
    summary = await client.get(f"{exam_url}/summary", headers={"HX-Request": "true"})
    assert summary.text.lstrip().startswith('<section id="perio-summary"')
    assert "Sites of 6 mm or more" in summary.text and "33 %" in summary.text  # 1 of 3 sites bleeds


async def test_a_bad_value_is_refused_beside_its_field_and_nothing_is_saved(client, clinic, hygienist):
    patient_id = await factories.make_patient(clinic)
    await sign_in_as(client, hygienist)
    exam_url = await _exam(client, patient_id)
    token = await factories.csrf_token(client)
    response = await client.post(f"{exam_url}/teeth/11", headers={"HX-Request": "true", "X-CSRFToken": token},
                                 data={"d0": "44", "d1": "3", "furcation": "1", "mobility": "0"})
    assert response.status_code == 422 and response.headers["HX-Replace-Url"] == "false"
    assert 'id="e-11-d0"' in response.text and 'aria-describedby="e-11-d0"' in response.text
    assert 'value="44"' in response.text and "single root" in response.text
    response = await post_form(client, f"{exam_url}/teeth/11", {"d0": "x", "mobility": "0", "furcation": "0"})
    assert response.status_code == 422 and 'value="x"' in response.text and "probing depth" in response.text
    assert not await PerioTooth.count()
    response = await post_form(client, f"{exam_url}/teeth/11", {"d0": "3", "mobility": "0", "furcation": "0"})
    assert response.status_code == 303 and response.headers["location"].endswith("#tooth-11")


async def test_signing_compares_and_locks_the_exam(client, clinic, hygienist):
    patient_id = await factories.make_patient(clinic)
    first = await perio.start_exam(hygienist, patient_id)
    await perio.save_tooth(hygienist, patient_id, first, 16, perio.ToothForm(d2="4", d0="3"))
    await perio.sign_exam(hygienist, patient_id, first, perio.SignForm(stage="II", grade="B"))
    await sign_in_as(client, hygienist)
    exam_url = await _exam(client, patient_id)
    second = int(exam_url.rsplit("/", 1)[1])
    assert second != first
    response = await post_form(client, f"{exam_url}/sign", {"stage": "III", "grade": "B"})
    assert response.status_code == 422 and "Chart at least one tooth" in response.text
    await post_form(client, f"{exam_url}/teeth/16", {"d0": "3", "d2": "7", "mobility": "0", "furcation": "0"})
    assert (await post_form(client, f"{exam_url}/sign", {"stage": "III", "grade": "B"})).status_code == 303
    page = await client.get(exam_url)
    assert "cannot change" in page.text and "Compare with the last exam" in page.text
    assert 'id="perio-keypad"' not in page.text
    response = await post_form(client, f"{exam_url}/teeth/16", {"d0": "1", "mobility": "0", "furcation": "0"})
    assert response.status_code == 422
    compare = await client.get(f"/patients/{patient_id}/perio/compare?exam={first}&exam={second}")
    assert compare.status_code == 200 and '<svg id="perio-comparison"' in compare.text
    assert compare.text.count('class="perio-mark perio-worse"') == 1  # 16 MB 4 → 7
    assert (await client.get(f"/patients/{patient_id}/perio/compare?exam={first}")).status_code == 422
    listing = await client.get(f"/patients/{patient_id}/perio/")
    assert "Stage III" in listing.text and "Stage II" in listing.text
    assert await AuditEntry.count().where(AuditEntry.action == "perio_exams.compared") == 1
    assert (await PerioExam.select(PerioExam.stage).where(PerioExam.id == second).first())["stage"] == "III"


async def test_front_desk_never_sees_perio(client, clinic):
    patient_id = await factories.make_patient(clinic)
    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, receptionist)
    assert (await client.get(f"/patients/{patient_id}/perio/")).status_code == 403


async def test_perio_reads_and_writes_are_in_the_patients_access_log(client, clinic, hygienist):
    from portal.privacy.registry import CATEGORIES

    patient_id = await factories.make_patient(clinic)
    await sign_in_as(client, hygienist)
    exam_url = await _exam(client, patient_id)
    await post_form(client, f"{exam_url}/teeth/16", {"d0": "3", "mobility": "0", "furcation": "0"})
    await client.get(exam_url)
    words = {row["what"] for row in await CATEGORIES["access_log"].collect(patient_id)}
    assert {"Started a gum (perio) exam", "Charted a tooth's gums", "Opened a gum (perio) exam"} <= words


async def test_the_bench_patients_perio_exams_are_valid_signed_exams(client, clinic):
    import os

    import asyncpg

    from bench import chart_data

    dentist = await factories.make_staff(clinic, Role.DENTIST)
    patient_id = await factories.make_patient(clinic)
    conn = await asyncpg.connect(os.environ["DATABASE_URL"])
    try:
        await chart_data._ensure_perio(conn, clinic.clinic_id, patient_id)
    finally:
        await conn.close()
    assert await PerioExam.count().where(PerioExam.signed_at.is_not_null()) == chart_data.PERIO_EXAMS
    assert await PerioTooth.count() == 32 * chart_data.PERIO_EXAMS
    await sign_in_as(client, dentist)
    exam_id = (await PerioExam.select(PerioExam.id).order_by(PerioExam.id, ascending=False).first())["id"]
    assert (await client.get(f"/patients/{patient_id}/perio/{exam_id}")).status_code == 200
    compare = await client.get(f"/patients/{patient_id}/perio/compare")
    assert compare.status_code == 200 and compare.text.count('class="perio-bar') == 2 * 192


async def test_only_clinicians_who_sign_are_offered_the_sign_form(client, clinic):
    patient_id = await factories.make_patient(clinic)
    await sign_in_as(client, clinic)  # the owner charts but does not sign
    page = await client.get(await _exam(client, patient_id))
    assert "Sign the exam" not in page.text and "confirms the diagnosis and signs" in page.text


async def test_a_confirmed_stage_offers_one_tap_to_the_perio_recall(client, clinic, hygienist):
    from datetime import date

    from portal.recall import due as recall_due
    from portal.recall import recall_types
    from portal.tables import PatientRecall, RecallType

    patient_id = await factories.make_patient(clinic)
    healthy = await perio.start_exam(hygienist, patient_id)
    await perio.save_tooth(hygienist, patient_id, healthy, 16, perio.ToothForm(d0="2", d2="3"))
    await perio.sign_exam(hygienist, patient_id, healthy, perio.SignForm(stage="none"))
    await recall_types.ensure_defaults(clinic.clinic_id)
    check_up = (await RecallType.select(RecallType.id).where(RecallType.name == "Check-up").first())["id"]
    await recall_due.set_recall(clinic, patient_id, recall_due.RecallForm(recall_type_id=str(check_up),
                                                                          due_on="2027-01-10"))
    await sign_in_as(client, hygienist)
    base = f"/patients/{patient_id}/perio/{healthy}"
    assert 'id="perio-recall"' not in (await client.get(base)).text  # no periodontitis, nothing offered
    refused = await post_form(client, f"{base}/recall")
    assert refused.status_code == 422 and "periodontitis stage" in refused.text

    draft = await perio.start_exam(hygienist, patient_id)
    await perio.save_tooth(hygienist, patient_id, draft, 16, perio.ToothForm(d0="6", d2="7"))
    assert 'id="perio-recall"' not in (await client.get(f"/patients/{patient_id}/perio/{draft}")).text  # unsigned
    await perio.sign_exam(hygienist, patient_id, draft, perio.SignForm(stage="III", grade="B"))
    page = await client.get(f"/patients/{patient_id}/perio/{draft}")
    assert 'id="perio-recall"' in page.text and "Move to Perio maintenance" in page.text
    moved = await post_form(client, f"/patients/{patient_id}/perio/{draft}/recall")
    assert moved.status_code == 303 and moved.headers["location"].endswith("?recall=moved")
    recalls = await PatientRecall.select(PatientRecall.recall_type.name, PatientRecall.due_on).where(
        PatientRecall.patient == patient_id)
    today = date.today()
    assert [r["recall_type.name"] for r in recalls] == ["Perio maintenance"]  # the check-up recall was replaced
    assert (recalls[0]["due_on"] - today).days in range(88, 94)  # three months on
    after = await client.get(moved.headers["location"])
    assert "now on the perio maintenance recall" in after.text and "Move to Perio maintenance" not in after.text
    entry = await AuditEntry.select(AuditEntry.detail).where(AuditEntry.action == "recall.switched_to_perio").first()
    assert entry is not None

    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, receptionist)
    assert (await post_form(client, f"/patients/{patient_id}/perio/{draft}/recall")).status_code == 403


SIGNED_PAGE_BOUND = 80_000  # a signed full mouth measured 53 KB (was 261 KB with a form per tooth)


async def test_a_signed_full_mouth_is_a_compact_read_only_chart_with_every_value(client, clinic, hygienist):
    patient_id = await factories.make_patient(clinic)
    exam_id = await perio.start_exam(hygienist, patient_id)
    for n, tooth in enumerate(perio.teeth.PERMANENT):
        await perio.save_tooth(hygienist, patient_id, exam_id, tooth, perio.ToothForm(
            **{f"d{i}": str(2 + (n + i) % 5) for i in range(6)}, g1="-2", b1=n % 2 == 0, s4=tooth == 36,
            p5=tooth == 11, c0=tooth == 47, mobility=str(n % 3), furcation="2" if tooth == 36 else "0"))
    await perio.sign_exam(hygienist, patient_id, exam_id, perio.SignForm(stage="III", grade="B"))
    await sign_in_as(client, hygienist)
    page = await client.get(f"/patients/{patient_id}/perio/{exam_id}")
    assert page.status_code == 200 and len(page.content) < SIGNED_PAGE_BOUND
    chart = re.search(r'<div class="perio-teeth" id="perio-teeth">(.*?)</div>', page.text, re.S).group(1)
    assert "<input" not in chart and "<select" not in chart and "<form" not in chart
    assert 'id="perio-keypad"' not in page.text and page.text.count('class="perio-tooth perio-read"') == 32

    def tooth(n: int) -> str:
        return re.search(rf'<section id="tooth-{n}".*?</section>', page.text, re.S).group(0)

    def row(n: int, name: str) -> list[str]:
        cells = re.search(rf'<th scope="row">{name}</th>(.*?)</tr>', tooth(n), re.S).group(1)
        return re.findall(r"<td>(.*?)</td>", cells)

    index = perio.teeth.PERMANENT.index(36)
    assert row(36, "Depth") == [str(2 + (index + i) % 5) for i in range(6)]
    assert row(36, "Margin") == ["0", "-2", "0", "0", "0", "0"]
    assert row(36, "Suppuration") == ["", "", "", "", "✓", ""] and "Furcation: II" in tooth(36)
    assert row(36, "Bleeding")[1] == ("✓" if index % 2 == 0 else "")
    assert row(11, "Plaque")[5] == "✓" and row(47, "Calculus")[0] == "✓"
    assert f"Mobility: {index % 3}" in tooth(36) and "Furcation" not in tooth(11)
    cal = re.search(r'CAL</abbr></th>(.*?)</tr>', tooth(36), re.S).group(1)
    assert re.findall(r"<td>(.*?)</td>", cal)[1] == str(2 + (index + 1) % 5 + 2)  # depth minus a -2 margin


DRAFT_PAGE_BOUND = 135_000  # a draft full mouth measured 125 KB (was 238 KB: a CSRF field, ids and labels per field)


async def test_a_draft_full_mouth_is_compact_and_keeps_every_field_named(client, clinic, hygienist):
    from tests.htmx_swaps import elements

    patient_id = await factories.make_patient(clinic)
    exam_id = await perio.start_exam(hygienist, patient_id)
    for n, tooth in enumerate(perio.teeth.PERMANENT):
        await perio.save_tooth(hygienist, patient_id, exam_id, tooth, perio.ToothForm(
            **{f"d{i}": str(2 + (n + i) % 5) for i in range(6)}, g1="-2", b1=n % 2 == 0, mobility=str(n % 3)))
    await sign_in_as(client, hygienist)
    exam_url = f"/patients/{patient_id}/perio/{exam_id}"
    page = await client.get(exam_url)
    assert page.status_code == 200 and len(page.content) < DRAFT_PAGE_BOUND
    found = elements(page.text)
    ids = {e["attrs"]["id"]: e for e in found if "id" in e["attrs"]}
    teeth = [e for e in found if e["tag"] == "form" and e["attrs"].get("class") == "perio-tooth"]
    assert len(teeth) == 32 and all(e["attrs"]["hx-post"] == e["attrs"]["action"] for e in teeth)
    fields = [e for e in found if e["tag"] == "input" and e["attrs"].get("type") in (None, "checkbox")
              and e["attrs"].get("aria-labelledby")]
    kinds = [e["attrs"]["name"][0] for e in fields]
    assert {kind: kinds.count(kind) for kind in "dgbspc"} == {kind: 192 for kind in "dgbspc"}  # one per site each
    assert all(part in ids for e in fields for part in e["attrs"]["aria-labelledby"].split())  # every one named
    assert ids["pd-36-1"]["attrs"]["value"] == str(2 + (perio.teeth.PERMANENT.index(36) + 1) % 5)
    assert ids["t36"]["tag"] == "legend" and "probing depth" in page.text
    sheet = page.text[page.text.index('id="perio-teeth"'):page.text.index('id="perio-summary"')]
    assert "_csrf_token" not in sheet  # htmx sends the page's one token (hx-headers on <body>)
    assert 'hx-target="closest form"' in page.text and "?without_script=1" in page.text

    plain = await client.get(f"{exam_url}?without_script=1")  # without script: each form its own token
    sheet = plain.text[plain.text.index('id="perio-teeth"'):plain.text.index('id="perio-summary"')]
    assert sheet.count('name="_csrf_token"') == 32 and "<noscript>" not in plain.text
    token = re.search(r'<form id="tooth-11".*?name="_csrf_token" value="([^"]+)"', plain.text, re.S).group(1)
    saved = await client.post(f"{exam_url}/teeth/11", data={"_csrf_token": token, "d0": "4", "furcation": "0",
                                                            "mobility": "0"})
    assert saved.status_code == 303 and saved.headers["location"].endswith("?without_script=1#tooth-11")
    refused = await client.post(f"{exam_url}/teeth/11", data={"_csrf_token": token, "d0": '<x"', "g0": "-1"})
    assert refused.status_code == 422 and 'value="&lt;x&#34;"' in refused.text and 'value="-1"' in refused.text
    assert refused.text.count('name="_csrf_token"') >= 32  # the refusal keeps the forms that work without script
    assert (await client.post(f"{exam_url}/teeth/11", data={"d0": "4"})).status_code == 403
