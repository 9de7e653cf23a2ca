"""Recall for the front desk: the list (due, overdue, scheduled), a patient's recall card, types and settings."""

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal import display, links
from portal.calendar import availability, practice_setup
from portal.errors import ValidationFailed
from portal.i18n import _
from portal.permissions import Permission, can
from portal.recall import booking, booking_codes, due, recall_types, waitlist
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other, wants_fragment


async def _card(request: Request, actor, patient_id: int, status: int = 200, errors: dict | None = None,
                recall_form: due.RecallForm | None = None, contact_form: due.ContactForm | None = None,
                waitlist_form: waitlist.WaitlistForm | None = None) -> Template:
    card = await due.for_patient(actor, patient_id)
    online = await booking_codes.booked_online(actor, patient_id)
    choose = {"": _("Choose…")}
    return render(request, "recall/patient.html", "recall/_card.html", status=status, patient_id=patient_id,
                  card=card, online=online, errors=errors or {}, recall_form=recall_form or due.RecallForm(),
                  contact_form=contact_form or due.ContactForm(),
                  waiting=await waitlist.for_patient(actor, patient_id),
                  upcoming=await waitlist.open_appointments(actor, patient_id),
                  waitlist_form=waitlist_form or waitlist.WaitlistForm(),
                  appointment_type_options=choose | {str(t["id"]): t["name"]
                                                     for t in await practice_setup.list_types(actor)},
                  provider_options={"": _("Anyone")} | {str(p["id"]): p["name"]
                                                        for p in await practice_setup.list_providers(actor)},
                  parts_of_day={k: str(display.label(k, "part_of_day")) for k in availability.PARTS_OF_DAY},
                  type_options=choose | {str(t["id"]): t["name"] for t in card["types"]},
                  kind_options=choose | {k: str(due.CONTACT_KINDS[k]) for k in due.STAFF_CONTACT_KINDS})


class RecallController(Controller):
    path = "/recall"
    guards = [signed_in, requires(Permission.MANAGE_CALENDAR)]
    dependencies = {"actor": provide_actor}

    @get("/", name="recall.list")
    async def index(self, request: Request, actor: CurrentActor, view: FromQuery[str] = "due",
                    type: FromQuery[str] = "", provider: FromQuery[str] = "", channel: FromQuery[str] = ""
                    ) -> Template:
        """Who is due this month, overdue or already scheduled, by type, provider and consented channel."""
        filters = due.RecallFilter(view=view if view in due.VIEWS else "due", recall_type=type, provider=provider,
                                   channel=channel if channel in due.CHANNELS else "")
        to_review = await booking_codes.waiting_review(actor) if can(actor, Permission.EDIT_DEMOGRAPHICS) else 0
        return render(request, "recall/list.html", "recall/_rows.html", filters=filters, to_review=to_review,
                      rows=await due.recall_list(actor, filters), views=due.VIEWS, channels=due.CHANNELS,
                      types=await recall_types.list_types(actor), providers=await practice_setup.list_providers(actor),
                      contact_kinds=due.STAFF_CONTACT_KINDS, limit=due.LIST_LIMIT)

    @get("/online-patients", name="recall.online_patients", guards=[requires(Permission.EDIT_DEMOGRAPHICS)])
    async def online_patients(self, request: Request, actor: CurrentActor) -> Template:
        """Patients who made their record by booking online, for the desk to check before the visit."""
        return render(request, "recall/online_patients.html", rows=await booking_codes.to_review(actor))

    @post("/online-patients/reviewed", name="recall.online_reviewed", guards=[requires(Permission.EDIT_DEMOGRAPHICS)])
    async def online_reviewed(self, request: Request, actor: CurrentActor) -> Redirect:
        """Mark a patient booked online as reviewed."""
        patient = str((await request.form()).get("patient_id", ""))
        await booking_codes.mark_reviewed(actor, int(patient) if patient.isdigit() else 0)
        return see_other(request.app.route_reverse("recall.online_patients"))

    async def _settings(self, request: Request, actor, status: int = 200, errors: dict | None = None,
                        type_form: recall_types.RecallTypeForm | None = None,
                        booking_form: booking.SettingsForm | None = None) -> Template:
        saved = await booking.booking_settings(actor.clinic_id)
        if booking_form is None:
            booking_form = booking.SettingsForm(
                enabled=saved["enabled"], appointment_types=",".join(map(str, saved["appointment_types"])),
                providers=",".join(map(str, saved["providers"])),
                **{k: str(saved[k]) for k in ("days_ahead", "lead_hours", "hold_minutes", "cutoff_hours",
                                              "daily_cap", "buffer_minutes")},
                reminder_days=", ".join(map(str, saved["reminder_days"])))
        return render(request, "recall/settings.html", status=status, types=await recall_types.list_types(actor),
                      appointment_types=await practice_setup.list_types(actor), errors=errors or {},
                      type_form=type_form or recall_types.RecallTypeForm(), booking_form=booking_form,
                      booking_page=links.absolute_url(request.app.state.settings, request.app.route_reverse(
                          "booking.clinic", clinic_id=actor.clinic_id)),
                      ticked=set(booking_form.appointment_types.split(",")),
                      providers=await practice_setup.list_providers(actor),
                      ticked_providers=set(booking_form.providers.split(",")))

    @get("/settings", name="recall.settings", guards=[requires(Permission.MANAGE_CLINIC)])
    async def settings(self, request: Request, actor: CurrentActor) -> Template:
        """Recall types and online booking: which types patients may book, how far ahead, reminders."""
        return await self._settings(request, actor)

    @post("/types", name="recall.add_type", guards=[requires(Permission.MANAGE_CLINIC)])
    async def add_type(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """Add a recall type."""
        form = await read_form(request, recall_types.RecallTypeForm)
        try:
            await recall_types.save_type(actor, form)
        except ValidationFailed as exc:
            return await self._settings(request, actor, 422, exc.errors, type_form=form)
        return see_other(request.app.route_reverse("recall.settings"))

    @post("/types/active", name="recall.type_active", guards=[requires(Permission.MANAGE_CLINIC)])
    async def type_active(self, request: Request, actor: CurrentActor) -> Redirect:
        """Switch a recall type on or off (its patients' due dates stay)."""
        posted = await request.form()
        type_id = int(str(posted.get("type_id", "0"))) if str(posted.get("type_id", "")).isdigit() else 0
        await recall_types.set_active(actor, type_id, posted.get("active") == "1")
        return see_other(request.app.route_reverse("recall.settings"))

    @post("/settings", name="recall.save_booking", guards=[requires(Permission.MANAGE_CLINIC)])
    async def save_booking(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """Save the online booking settings."""
        form = await read_form(request, booking.SettingsForm)
        posted = await request.form()
        form = booking.SettingsForm(**{**form.__dict__, **{name: ",".join(str(v) for v in posted.getall(name, []))
                                                           for name in ("appointment_types", "providers")}})
        try:
            await booking.save_settings(actor, form)
        except ValidationFailed as exc:
            return await self._settings(request, actor, 422, exc.errors, booking_form=form)
        return see_other(request.app.route_reverse("recall.settings"))


class PatientRecallController(Controller):
    path = "/patients/{patient_id:int}/recall"
    guards = [signed_in, requires(Permission.MANAGE_CALENDAR)]
    dependencies = {"actor": provide_actor}

    @get("/", name="patients.recall")
    async def show(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """The patient's recalls, what is booked, and the contact attempts (loaded into the patient page)."""
        return await _card(request, actor, patient_id)

    @post("/", name="patients.recall_set")
    async def set_recall(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]
                         ) -> Template | Redirect:
        """Put the patient on a recall type, or change its due date."""
        form = await read_form(request, due.RecallForm)
        try:
            await due.set_recall(actor, patient_id, form)
        except ValidationFailed as exc:
            return await _card(request, actor, patient_id, 422, exc.errors, recall_form=form)
        return await self._after(request, actor, patient_id)

    @post("/remove", name="patients.recall_remove")
    async def remove(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Redirect:
        """Take the patient off one recall."""
        recall_id = str((await request.form()).get("recall_id", ""))
        await due.remove_recall(actor, patient_id, int(recall_id) if recall_id.isdigit() else 0)
        return await self._after(request, actor, patient_id)

    @post("/contacts", name="patients.recall_contact")
    async def contact(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Redirect:
        """Log a contact attempt (called, no answer, mailed, texted, declined)."""
        form = await read_form(request, due.ContactForm)
        back_to_list = (await request.form()).get("back") == "list"
        try:
            await due.log_contact(actor, patient_id, form)
        except ValidationFailed as exc:
            return await _card(request, actor, patient_id, 422, exc.errors, contact_form=form)
        if back_to_list:
            return see_other(request.app.route_reverse("recall.list"))
        return await self._after(request, actor, patient_id)

    @post("/waitlist", name="patients.waitlist_add")
    async def waitlist_add(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]
                           ) -> Template | Redirect:
        """Put the patient on the waitlist for an earlier appointment."""
        form = await read_form(request, waitlist.WaitlistForm)
        try:
            await waitlist.add_entry(actor, patient_id, form)
        except ValidationFailed as exc:
            return await _card(request, actor, patient_id, 422, exc.errors, waitlist_form=form)
        return await self._after(request, actor, patient_id)

    @post("/earlier", name="patients.waitlist_earlier")
    async def waitlist_earlier(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]
                               ) -> Template | Redirect:
        """Earlier if possible: offer this appointment's patient an earlier freed time of its kind."""
        appointment = str((await request.form()).get("appointment_id", ""))
        try:
            await waitlist.mark_earlier(actor, patient_id, int(appointment) if appointment.isdigit() else 0)
        except ValidationFailed as exc:
            return await _card(request, actor, patient_id, 422, exc.errors)
        return await self._after(request, actor, patient_id)

    async def _after(self, request: Request, actor, patient_id: int) -> Template | Redirect:
        if wants_fragment(request):  # the card redraws itself in the patient page
            return await _card(request, actor, patient_id)
        return see_other(request.app.route_reverse("patients.show", patient_id=patient_id))


class WaitlistController(Controller):
    path = "/waitlist"
    guards = [signed_in, requires(Permission.MANAGE_CALENDAR)]
    dependencies = {"actor": provide_actor}

    @get("/", name="waitlist.show")
    async def show(self, request: Request, actor: CurrentActor) -> Template:
        """Who waits for an earlier appointment, and the offers of freed slots with their answers (live)."""
        return render(request, "recall/waitlist.html", "recall/_offers.html", **await waitlist.overview(actor))

    @post("/remove", name="waitlist.remove")
    async def remove(self, request: Request, actor: CurrentActor) -> Redirect:
        """Take an entry off the waitlist."""
        entry = str((await request.form()).get("entry_id", ""))
        await waitlist.remove_entry(actor, int(entry) if entry.isdigit() else 0)
        return see_other(request.app.route_reverse("waitlist.show"))
