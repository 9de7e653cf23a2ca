"""The calendar: day, week and month views, the booking dialog, the appointment card, the slot finder."""

from datetime import date, timedelta

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal import clock, patients
from portal.calendar import agenda, availability, scheduling, setup_cache
from portal.errors import SlotTaken, ValidationFailed
from portal.forms import parse_date
from portal.permissions import Actor, Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other, wants_fragment


def _day(actor: Actor, text: str) -> date:
    return parse_date(text) or clock.today(actor.time_zone)


async def _choices(actor: Actor) -> dict:
    return {"types": await setup_cache.appointment_types(actor), "providers": await setup_cache.providers(actor),
            "chairs": await setup_cache.chairs(actor), "parts_of_day": availability.PARTS_OF_DAY}


async def _day_page(request: Request, actor: Actor, day: date, step: int, fragment: str | None = None,
                    status: int = 200, show_freed: bool = False, moving: dict | None = None, **dialog) -> Template:
    """The day view, optionally with a dialog (booking form or appointment card) open on top.

    An htmx request for the dialog gets the dialog alone: the day under it is neither built nor audited.
    `moving` is an appointment picked up to move: every slot of the grid becomes a "Move here" button.
    """
    if fragment and wants_fragment(request):
        return render(request, "calendar/day.html", fragment, status=status, **dialog)
    view = await agenda.day_view(actor, day, step, show_freed=show_freed)
    return render(request, "calendar/day.html", fragment, status=status, view=view, prev_day=day - timedelta(days=1),
                  next_day=day + timedelta(days=1), today=clock.today(actor.time_zone), moving=moving, **dialog)


class CalendarController(Controller):
    path = "/calendar"
    guards = [signed_in, requires(Permission.MANAGE_CALENDAR)]
    dependencies = {"actor": provide_actor}

    @get("/", name="calendar.day")
    async def day(self, request: Request, actor: CurrentActor, date: FromQuery[str] = "",
                  step: FromQuery[int] = 15, freed: FromQuery[bool] = False,
                  moving: FromQuery[int | None] = None) -> Template:
        """One day, a column per chair; cancelled and no-shows on demand; an appointment being moved (two taps)."""
        held = await scheduling.get_appointment(actor, moving) if moving else None
        return await _day_page(request, actor, _day(actor, date), step, show_freed=freed,
                               moving=held if held and held["cancellable"] else None)

    @get("/week", name="calendar.week")
    async def week(self, request: Request, actor: CurrentActor, date: FromQuery[str] = "",
                   provider: FromQuery[int | None] = None, chair: FromQuery[int | None] = None,
                   moving: FromQuery[int | None] = None) -> Template:
        """A week for one provider or one chair; an appointment being moved to another day (two taps)."""
        held = await scheduling.get_appointment(actor, moving) if moving else None
        choices = await _choices(actor)
        if provider is None and chair is None and choices["providers"]:
            provider = choices["providers"][0]["id"]
        view = await agenda.week_view(actor, _day(actor, date), provider_id=provider, chair_id=chair)
        return render(request, "calendar/week.html", view=view, provider=provider, chair=chair, **choices,
                      moving=held if held and held["cancellable"] else None,
                      prev_week=view["monday"] - timedelta(days=7), next_week=view["monday"] + timedelta(days=7))

    @get("/month", name="calendar.month")
    async def month(self, request: Request, actor: CurrentActor, date: FromQuery[str] = "") -> Template:
        """Counts per day for a month."""
        view = await agenda.month_view(actor, _day(actor, date))
        month = view["month"]
        return render(request, "calendar/month.html", view=view,
                      prev_month=(month - timedelta(days=1)).replace(day=1),
                      next_month=(month + timedelta(days=32)).replace(day=1))

    @get("/book", name="calendar.book")
    async def book_form(self, request: Request, actor: CurrentActor, date: FromQuery[str] = "",
                        time: FromQuery[str] = "", chair: FromQuery[str] = "", provider: FromQuery[str] = "",
                        type: FromQuery[str] = "", patient: FromQuery[str] = "", step: FromQuery[int] = 15
                        ) -> Template:
        """The booking dialog, pre-filled from the tapped slot."""
        form = scheduling.BookingForm(patient_id=patient, appointment_type_id=type, provider_id=provider,
                                      chair_id=chair, date=date, time=time)
        return await _day_page(request, actor, _day(actor, date), step, "calendar/_booking.html",
                               booking=form, errors={}, alternatives=[], chosen=await patients.chosen(actor, patient),
                               **await _choices(actor))

    @get("/patient-options", name="calendar.patient_options")
    async def patient_options(self, request: Request, actor: CurrentActor, q: FromQuery[str] = "") -> Template:
        """Typeahead for the booking dialog: matching patients as radio buttons."""
        return render(request, "calendar/_patient_options.html",
                      options=await patients.search_patients(actor, q, limit=8), searched=True)

    @post("/appointments", name="calendar.create")
    async def create(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """Book; a conflict re-opens the dialog with the nearest free alternatives."""
        form = scheduling.pick_alternative(await read_form(request, scheduling.BookingForm),
                                           str((await request.form()).get("pick", "")))
        try:
            await scheduling.book_appointment(actor, form)
        except ValidationFailed as exc:
            return await _day_page(request, actor, _day(actor, form.date), 15, "calendar/_booking.html",
                                   status=409 if isinstance(exc, SlotTaken) else 422, booking=form,
                                   chosen=await patients.chosen(actor, form.patient_id),
                                   errors=exc.errors, alternatives=getattr(exc, "alternatives", []),
                                   **await _choices(actor))
        return see_other(f"{request.app.route_reverse('calendar.day')}?date={form.date}")

    @get("/appointments/{appointment_id:int}", name="calendar.card")
    async def card(self, request: Request, actor: CurrentActor, appointment_id: FromPath[int]) -> Template:
        """The appointment card: status buttons, move, cancel, history."""
        card = await scheduling.get_appointment(actor, appointment_id)
        return await _day_page(request, actor, card["local_start"].date(), 15, "calendar/_card.html", card=card,
                               errors={}, alternatives=[], **await _choices(actor))

    @post("/appointments/{appointment_id:int}/status", name="calendar.status")
    async def status(self, request: Request, actor: CurrentActor, appointment_id: FromPath[int]) -> Template | Redirect:
        """Confirm, arrive, seat, complete, no-show or cancel (with a reason)."""
        posted = await request.form()
        try:
            await scheduling.set_status(actor, appointment_id, str(posted.get("status", "")),
                                        str(posted.get("reason", "")))
        except ValidationFailed as exc:
            card = await scheduling.get_appointment(actor, appointment_id)
            return await _day_page(request, actor, card["local_start"].date(), 15, "calendar/_card.html",
                                   status=422, card=card, errors=exc.errors, alternatives=[], **await _choices(actor))
        return see_other(request.app.route_reverse("calendar.card", appointment_id=appointment_id))

    @post("/appointments/{appointment_id:int}/move", name="calendar.move")
    async def move(self, request: Request, actor: CurrentActor, appointment_id: FromPath[int]) -> Template | Redirect:
        """Move to another time, chair or provider."""
        form = scheduling.pick_alternative(await read_form(request, scheduling.MoveForm),
                                           str((await request.form()).get("pick", "")))
        try:
            await scheduling.move_appointment(actor, appointment_id, form)
        except ValidationFailed as exc:
            card = await scheduling.get_appointment(actor, appointment_id)
            return await _day_page(request, actor, card["local_start"].date(), 15, "calendar/_card.html",
                                   status=409 if isinstance(exc, SlotTaken) else 422, card=card, move=form,
                                   errors=exc.errors, alternatives=getattr(exc, "alternatives", []),
                                   **await _choices(actor))
        return see_other(request.app.route_reverse("calendar.card", appointment_id=appointment_id))

    @get("/free", name="calendar.free")
    async def free(self, request: Request, actor: CurrentActor, appointment_type_id: FromQuery[str] = "",
                   provider_id: FromQuery[str] = "", chair_id: FromQuery[str] = "", date: FromQuery[str] = "",
                   part_of_day: FromQuery[str] = "", patient_id: FromQuery[str] = "") -> Template:
        """Next free starts for the chosen type (and provider, chair, date, part of day)."""
        chosen, slots = await availability.free_for_type(actor, appointment_type_id, provider_id, chair_id, date,
                                                         part_of_day)
        return render(request, "calendar/_free_slots.html", slots=slots, chosen=chosen, patient_id=patient_id)
