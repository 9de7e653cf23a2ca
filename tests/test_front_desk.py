"""The front desk's today board on the dashboard: states, waiting minutes, one-tap arrivals, audit once a day."""

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal import clock
from portal.calendar import front_desk, scheduling
from portal.permissions import Role
from portal.tables import AppointmentChange, AuditEntry
from tests import factories
from tests.factories import csrf_token, sign_in_as

ZONE = ZoneInfo("Europe/Amsterdam")


def _tomorrow() -> date:
    return datetime.now(ZONE).date() + timedelta(days=1)


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(_tomorrow(), datetime.min.time(), ZONE).replace(hour=hour, minute=minute)


@pytest.fixture
async def day(clinic, cal, monkeypatch):
    """Tomorrow: a completed 09:00, a late 09:30, an arrived 10:00 and an expected 10:30 (it is 10:10 then)."""
    patients = [await factories.make_patient(clinic, given_name=name) for name in ("Ada", "Bram", "Cas", "Dirk")]
    day_text = _tomorrow().isoformat()
    ids = {}
    for name, patient_id, at, chair in zip(("done", "late", "waiting", "expected"), patients,
                                           ("09:00", "09:30", "10:00", "10:30"), (0, 1, 0, 1), strict=True):
        ids[name] = await factories.book(clinic, cal, patient_id, day_text, at, chair_id=str(cal["chairs"][chair]))
    monkeypatch.setattr(clock, "now", lambda: _at(10, 10))  # a visit's statuses apply only on its day
    for status in ("arrived", "in_chair", "completed"):
        await scheduling.set_status(clinic, ids["done"], status)
    await scheduling.set_status(clinic, ids["waiting"], "arrived")
    return {"ids": ids, "patients": patients, "now": _at(10, 10)}


async def test_the_board_derives_each_visits_state_from_the_calendar(clinic, cal, day):
    board = await front_desk.today(clinic, now=day["now"])
    states = {v.id: v.state for chair in board.chairs for v in chair.visits}
    ids = day["ids"]
    assert states == {ids["done"]: "completed", ids["late"]: "late", ids["waiting"]: "waiting",
                      ids["expected"]: "expected"}
    assert [v.id for v in board.expected_next] == [ids["late"], ids["expected"]]
    [waiting] = board.waiting
    arrived = await AppointmentChange.select(AppointmentChange.at).where(
        (AppointmentChange.appointment == ids["waiting"]) & (AppointmentChange.to_status == "arrived")).first()
    assert waiting.waited_minutes == int((day["now"] - arrived["at"]).total_seconds() // 60)
    assert waiting.next_status == "in_chair" and board.waiting[0].patient_name.startswith("Cas ")
    assert [c.name for c in board.chairs] == ["Chair 1", "Chair 2"]
    assert board.counts["appointments"] == 4 and board.counts["completed"] == 1 and board.counts["late"] == 1
    assert board.opens_at == _at(8) and board.closes_at == _at(18)


async def test_only_the_owner_sees_the_days_numbers(clinic, cal, day):
    reception = await factories.make_staff(clinic, Role.RECEPTIONIST)
    board = await front_desk.today(reception, now=day["now"])
    assert board.counts is None and len(board.waiting) == 1


async def test_each_patient_is_audited_once_a_day_not_on_every_refresh(clinic, cal, day):
    await front_desk.today(clinic, now=day["now"])
    await front_desk.today(clinic, now=day["now"])
    own = await AuditEntry.select(AuditEntry.patient_id).where(
        (AuditEntry.action == front_desk.VIEWED) & (AuditEntry.object_type == "patient"))
    assert sorted(r["patient_id"] for r in own) == sorted(day["patients"])
    # every showing still leaves a row of its own, naming each patient it showed
    shown = await AuditEntry.select(AuditEntry.detail).where(
        (AuditEntry.action == front_desk.VIEWED) & (AuditEntry.object_type == "patient_list"))
    assert [sorted(json.loads(r["detail"])["patients"]) for r in shown] == [sorted(set(day["patients"]))] * 2


async def test_the_dashboard_shows_the_board_and_one_tap_seats_a_waiting_patient(client, clinic, cal, day,
                                                                              monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: day["now"])
    reception = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, reception)
    page = await client.get("/")
    assert page.status_code == 200 and 'id="today"' in page.text and "Running late" in page.text
    assert "chair hours booked" not in page.text  # the day's numbers are the owner's
    token = await csrf_token(client)
    seated = await client.post(f"/today/{day['ids']['waiting']}/status", data={"status": "in_chair"},
                               headers={"HX-Request": "true", "X-CSRFToken": token})
    assert seated.status_code == 200
    assert seated.text.strip().startswith('<section id="today"')
    assert seated.headers["HX-Replace-Url"] == "/"
    card = await scheduling.get_appointment(clinic, day["ids"]["waiting"])
    assert card["status"] == "in_chair"


async def test_a_refused_tap_redraws_the_board_with_the_reason(client, clinic, cal, day, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: day["now"])
    await sign_in_as(client, clinic)
    token = await csrf_token(client)
    refused = await client.post(f"/today/{day['ids']['expected']}/status", data={"status": "completed"},
                                headers={"HX-Request": "true", "X-CSRFToken": token})
    assert refused.status_code == 422
    assert refused.text.strip().startswith('<section id="today"') and 'role="alert"' in refused.text
    card = await scheduling.get_appointment(clinic, day["ids"]["expected"])
    assert card["status"] == "booked"


async def test_a_plain_form_post_returns_to_the_dashboard(client, clinic, cal, day, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: day["now"])
    await sign_in_as(client, clinic)
    token = await csrf_token(client)
    answer = await client.post(f"/today/{day['ids']['waiting']}/status",
                               data={"status": "in_chair", "_csrf_token": token})
    assert answer.status_code == 303 and answer.headers["location"] == "/"


async def test_the_board_polls_itself(client, clinic, cal, day, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: day["now"])
    await sign_in_as(client, clinic)
    fragment = await client.get("/today", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert 'hx-trigger="every 30s"' in fragment.text and "<html" not in fragment.text


async def test_every_chairs_list_is_read_only_when_opened(client, clinic, cal, day, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: day["now"])
    await sign_in_as(client, clinic)
    board = (await client.get("/today", headers={"HX-Request": "true"})).text
    assert 'hx-get="/today/chairs" hx-trigger="toggle once"' in board
    assert "Complete: Ada" not in board and board.count("<form") == 3  # the waiting and expected lists only
    chairs = await client.get("/today/chairs", headers={"HX-Request": "true"})
    assert chairs.status_code == 200 and "<html" not in chairs.text
    assert chairs.text.count("<h3>") == 2 and chairs.text.count('class="today-visit ') == 4
    assert 'name="status" value="arrived"' in chairs.text and "Seat: Cas" in chairs.text
    page = await client.get("/today/chairs")  # without htmx: a page of its own
    assert page.status_code == 200 and "<html" in page.text and "Seat: Cas" in page.text


async def test_the_timeline_draws_each_visit_at_its_clinic_time_with_escaped_names(clinic, cal, day):
    from portal.tables import Patient

    await Patient.update({Patient.given_name: "<b>Ada</b>"}).where(Patient.id == day["patients"][0])
    board = await front_desk.today(clinic, now=day["now"])
    svg = str(board.timeline)
    assert svg.startswith('<svg class="today-timeline" viewBox="0 0 1000 100"') and svg.endswith("</svg>")
    assert svg.count('<rect ') == 4 and svg.count('class="timeline-hour"') == 11  # 08:00 .. 18:00
    # 09:00 on an 08:00-18:00 day: an hour of ten, 85 of the 850 units after the 120 of chair names
    assert '<rect x="205.0" y="4" width="42.5"' in svg  # a 30-minute checkup in chair 1
    assert "09:00 &lt;b&gt;Ada&lt;/b&gt;" in svg and "<b>Ada" not in svg
    assert '<line x1="' + str(round(120 + 130 / 600 * 850, 1)) + '"' in svg  # now, 10:10
    assert ">Chair 2</text>" in svg


async def test_a_visit_names_its_patients_active_alerts_oldest_first(clinic, cal, day):
    from portal.charts import medical_history

    dentist = await factories.make_staff(clinic, Role.DENTIST)
    cas, dirk = day["patients"][2], day["patients"][3]
    await medical_history.add_alert(dentist, cas, medical_history.AlertForm(label="Latex allergy"))
    gone = await medical_history.add_alert(dentist, cas, medical_history.AlertForm(label="Old fracture"))
    await medical_history.add_alert(dentist, cas, medical_history.AlertForm(label="Anticoagulants", severity="medium"))
    await medical_history.resolve_alert(dentist, cas, gone)
    board = await front_desk.today(clinic, now=day["now"])
    alerts = {v.patient_id: v.alerts for chair in board.chairs for v in chair.visits}
    assert alerts[cas] == ["Latex allergy", "Anticoagulants"] and alerts[dirk] == []
    assert board.waiting[0].alerts == ["Latex allergy", "Anticoagulants"]


async def test_a_kept_timeline_is_drawn_again_when_anything_it_shows_changes(clinic, cal, day):
    from portal import i18n
    from portal.tables import Patient

    def bar(svg: str, name: str) -> str:
        return next(t for t in svg.split("<title>") if f" {name}" in t).split("</title>")[0]

    first = str((await front_desk.today(clinic, now=day["now"])).timeline)
    assert str((await front_desk.today(clinic, now=day["now"])).timeline) == first
    assert bar(first, "Dirk").endswith("· Expected") and bar(first, "Cas").endswith("· Waiting")
    later = str((await front_desk.today(clinic, now=day["now"] + timedelta(minutes=30))).timeline)  # 10:40
    assert bar(later, "Dirk").endswith("· Running late")  # the state moved with the clock
    assert '<line x1="' + str(round(120 + 160 / 600 * 850, 1)) + '"' in later  # and the now-line
    await scheduling.set_status(clinic, day["ids"]["waiting"], "in_chair")
    await Patient.update({Patient.given_name: "Bea"}).where(Patient.id == day["patients"][0])
    changed = str((await front_desk.today(clinic, now=day["now"])).timeline)
    assert bar(changed, "Cas").endswith("· In chair") and " Bea " in changed and " Ada " not in changed
    with i18n.using("nl"):
        dutch = str((await front_desk.today(clinic, now=day["now"])).timeline)
    assert "Vandaag per stoel" in dutch and "Today per chair" in changed


async def test_a_kept_board_follows_every_change_of_the_calendar(clinic, cal, day, monkeypatch):
    """The board's rows are kept under the calendar's version: a tap, a rename or a new alert shows at the next
    poll, and a poll nothing changed reads no rows."""
    from portal.charts import medical_history
    from portal.tables import Patient

    def state_of(board, appointment_id):
        return next(v for chair in board.chairs for v in chair.visits if v.id == appointment_id)

    reads = []
    read_today = front_desk._read_today
    monkeypatch.setattr(front_desk, "_read_today", lambda *args: reads.append(1) or read_today(*args))
    ids = day["ids"]
    assert state_of(await front_desk.today(clinic, now=day["now"]), ids["expected"]).state == "expected"
    kept = await front_desk.today(clinic, now=day["now"])
    assert state_of(kept, ids["expected"]).state == "expected" and len(reads) == 1
    await scheduling.set_status(clinic, ids["expected"], "arrived")
    assert state_of(await front_desk.today(clinic, now=day["now"]), ids["expected"]).state == "waiting"
    await Patient.update({Patient.given_name: "Dirkje"}).where(Patient.id == day["patients"][3])
    assert state_of(await front_desk.today(clinic, now=day["now"]), ids["expected"]).patient_name.startswith("Dirkje")
    await medical_history.add_alert(clinic, day["patients"][3], medical_history.AlertForm(label="Latex allergy"))
    assert state_of(await front_desk.today(clinic, now=day["now"]), ids["expected"]).alerts == ["Latex allergy"]
    assert len(reads) == 4


async def test_the_live_board_is_built_and_drawn_once_a_minute_for_all_who_share_it(client, clinic, cal, day,
                                                                                    monkeypatch):
    """Every desk polls the board: within a minute one build and one rendering serve everyone of one language and
    one view of the day's numbers, each response with its own form token; a tap shows at the next poll."""
    import re

    from portal import i18n

    now = {"at": day["now"]}
    monkeypatch.setattr(clock, "now", lambda: now["at"])
    builds = []
    build = front_desk._board
    monkeypatch.setattr(front_desk, "_board", lambda *args: builds.append(1) or build(*args))
    await sign_in_as(client, clinic)
    token_field = re.compile(r'name="_csrf_token" value="([0-9a-f]+)"')

    first, second = [(await client.get("/today", headers={"HX-Request": "true"})).text for _ in range(2)]
    assert len(builds) == 1 and "chair hours booked" in first
    assert len(set(token_field.findall(first))) == 1 and token_field.findall(first) != token_field.findall(second)
    assert token_field.sub("", first) == token_field.sub("", second) and "csrf_input" not in first

    builds.clear()  # outside a request the locale has no region: boards of their own
    assert (await front_desk.today(clinic)) is (await front_desk.today(clinic)) and len(builds) == 1
    reception = await factories.make_staff(clinic, Role.RECEPTIONIST)
    assert (await front_desk.today(reception)).counts is None and len(builds) == 2  # not the owner's numbers
    with i18n.using("nl"):
        assert (await front_desk.today(clinic)).waiting[0].state == "waiting" and len(builds) == 3

    token = await csrf_token(client)
    await client.post(f"/today/{day['ids']['waiting']}/status", data={"status": "in_chair"},
                      headers={"HX-Request": "true", "X-CSRFToken": token})
    after = (await client.get("/today", headers={"HX-Request": "true"})).text
    assert "Nobody is waiting." in after and "Nobody is waiting." not in first
    now["at"] = day["now"] + timedelta(minutes=1)
    builds.clear()
    await front_desk.today(clinic)
    assert len(builds) == 1  # a new minute, a new board (who is late moves with the clock)


async def test_kept_timelines_are_all_dropped_after_their_time(clinic, cal, day, monkeypatch):
    """The drawings hold patients' names: none outlives KEEP_SECONDS in a process."""
    from portal.calendar import today_timeline

    board = await front_desk.today(clinic, now=day["now"])
    today_timeline.draw(board, "Europe/Amsterdam")
    assert today_timeline._kept
    later = today_timeline.time.monotonic() + today_timeline.KEEP_SECONDS + 1
    monkeypatch.setattr(today_timeline.time, "monotonic", lambda: later)
    empty = front_desk.Board(opens_at=board.opens_at, closes_at=board.closes_at, now=board.now, chairs=[
        front_desk.ChairDay(1, "Chair 1", [])], expected_next=[], waiting=[], counts=None, zone=board.zone)
    today_timeline.draw(empty, "Europe/Amsterdam")
    assert len(today_timeline._kept) == 1  # only the drawing just made

