"""Online booking pages for patients, signed out: book from a recall link or with a one-time code (existing and new
patients), then cancel or move by the mailed link.

No session: the signed link in the address is the key (portal/recall/tokens.py), and every form carries the CSRF
token (an essential cookie). A patient's name appears only after the link has been checked. Every step that
changes something is counted per address or link and per client (portal/recall/booking_limits.py); too many get
the refusal page (429) with the minutes to wait.
"""

from collections.abc import Awaitable, Callable

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal import clock, patient_fields
from portal.errors import NotFound, Throttled, ValidationFailed
from portal.recall import booking, booking_codes, booking_limits, waitlist
from portal.views.auth import client_ip
from portal.views.pages import read_form, render, see_other


def _secret(request: Request) -> str:
    return request.app.state.settings.secret_key


def _render(request: Request, template: str, visit: booking.Visit, status: int, **context) -> Template:
    """A booking page in the clinic's time zone, with the visit (never a staff actor: no navigation)."""
    return render(request, template, status=status, visit=visit, time_zone=visit.actor.time_zone, **context)


async def _slots_page(request: Request, visit: booking.Visit, token: str, type_id: str = "", from_day: str = "",
                      errors: dict | None = None, status: int = 200) -> Template:
    return _render(request, "booking/start.html", visit, status, token=token, errors=errors or {},
                  offer=await booking.offered_slots(visit, type_id, from_day), slot_value=booking.slot_value)


async def _form(request: Request, *names: str) -> dict[str, str]:
    posted = await request.form()
    return {name: str(posted.get(name, "")) for name in names}


async def _review(request: Request, visit: booking.Visit, token: str, hold: str, *, moving: bool,
                  refuse: Callable[[dict, int], Awaitable[Template]]) -> Template:
    """The held time with the button that books it (or moves the appointment there); a hold that ran out goes
    back to the free times with the reason."""
    try:
        held = await booking.held(visit, hold)
    except NotFound:
        return await refuse({"slot": booking.expired_message()}, 410)
    action, back = ("booking.move", "booking.manage") if moving else ("booking.confirm", "booking.start")
    return _render(request, "booking/confirm.html", visit, 200, token=token, held=held, moving=moving,
                   action=request.app.route_reverse(action, token=token),
                   back=request.app.route_reverse(back, token=token))


def _throttled(request: Request, exc: Throttled) -> Template:
    """The refusal page for too many tries: how long to wait, nothing else."""
    return render(request, "booking/throttled.html", status=429, wait=exc.wait_minutes)


async def _count(request: Request, token: str) -> None:
    """One step behind a signed link: counted per link and per client (Throttled past the limits)."""
    await booking_limits.count(booking_limits.LINK_STEP, request.app.state.settings, client_ip(request),
                               "link:" + token[:80])


class ClinicBookingController(Controller):
    """The clinic's public booking page: existing patients by email or mobile plus date of birth, new patients by
    name, contact and date of birth; both confirm with a one-time code."""

    path = "/online-booking/{clinic_id:int}"
    exception_handlers = {Throttled: _throttled}

    def _page(self, request: Request, template: str, clinic: dict, status: int = 200, **context) -> Template:
        return render(request, template, status=status, clinic=clinic, time_zone=clinic["time_zone"], **context)

    @get("/", name="booking.clinic")
    async def start(self, request: Request, clinic_id: FromPath[int]) -> Template:
        """Book online: an existing patient asks for a code."""
        clinic = await booking_codes.open_clinic(clinic_id)
        return self._page(request, "booking/clinic.html", clinic, form=booking_codes.KnownForm(), errors={})

    @post("/", name="booking.request_known")
    async def request_known(self, request: Request, clinic_id: FromPath[int]) -> Template | Redirect:
        """Send a code if the details match a patient; the answer is the same either way."""
        clinic = await booking_codes.open_clinic(clinic_id)
        form = await read_form(request, booking_codes.KnownForm)
        try:
            ref = await booking_codes.request_known(clinic, form, client_ip(request), request.app.state.settings)
        except ValidationFailed as exc:
            return self._page(request, "booking/clinic.html", clinic, 422, form=form, errors=exc.errors)
        return see_other(request.app.route_reverse("booking.code", clinic_id=clinic_id, ref=ref))

    @get("/new", name="booking.new")
    async def new(self, request: Request, clinic_id: FromPath[int]) -> Template:
        """Book online as a new patient."""
        clinic = await booking_codes.open_clinic(clinic_id)
        return self._page(request, "booking/new.html", clinic, form=booking_codes.NewForm(), errors={},
                          languages=patient_fields.LANGUAGES)

    @post("/new", name="booking.request_new")
    async def request_new(self, request: Request, clinic_id: FromPath[int]) -> Template | Redirect:
        """Send a code to the new patient's email address."""
        clinic = await booking_codes.open_clinic(clinic_id)
        form = await read_form(request, booking_codes.NewForm)
        try:
            ref = await booking_codes.request_new(clinic, form, client_ip(request), request.app.state.settings)
        except ValidationFailed as exc:
            return self._page(request, "booking/new.html", clinic, 422, form=form, errors=exc.errors,
                              languages=patient_fields.LANGUAGES)
        return see_other(request.app.route_reverse("booking.code", clinic_id=clinic_id, ref=ref))

    @get("/code/{ref:str}", name="booking.code")
    async def code(self, request: Request, clinic_id: FromPath[int], ref: FromPath[str]) -> Template:
        """Type the code that was sent."""
        clinic = await booking_codes.open_clinic(clinic_id)
        waiting = await booking_codes.waiting(clinic_id, ref)
        return self._page(request, "booking/code.html", clinic, waiting=waiting, ref=ref, errors={})

    @post("/code/{ref:str}", name="booking.redeem")
    async def redeem(self, request: Request, clinic_id: FromPath[int], ref: FromPath[str]) -> Template | Redirect:
        """A right code opens the booking page for the patient."""
        clinic = await booking_codes.open_clinic(clinic_id)
        waiting = await booking_codes.waiting(clinic_id, ref)
        form = await read_form(request, booking_codes.CodeForm)
        try:
            patient_id = await booking_codes.redeem(clinic, ref, form, client_ip(request), request.app.state.settings)
        except ValidationFailed as exc:
            return self._page(request, "booking/code.html", clinic, 422, waiting=waiting, ref=ref, errors=exc.errors)
        return see_other(booking.code_path(_secret(request), clinic_id, patient_id))


class BookingController(Controller):
    path = "/book"
    exception_handlers = {Throttled: _throttled}

    @get("/{token:str}", name="booking.start")
    async def start(self, request: Request, token: FromPath[str], type: FromQuery[str] = "",
                    from_day: FromQuery[str] = "") -> Template:
        """The free times of the types the practice lets patients book, soonest first."""
        visit = await booking.open_recall_link(_secret(request), token)
        return await _slots_page(request, visit, token, type, from_day)

    @post("/{token:str}/hold", name="booking.hold")
    async def hold(self, request: Request, token: FromPath[str]) -> Template | Redirect:
        """Hold the chosen time for a few minutes while the patient confirms."""
        visit = await booking.open_recall_link(_secret(request), token)
        await _count(request, token)
        form = await _form(request, "type", "slot")
        try:
            hold_id = await booking.hold_slot(visit, form["type"], form["slot"])
        except ValidationFailed as exc:
            return await _slots_page(request, visit, token, form["type"], errors=exc.errors, status=409)
        return see_other(request.app.route_reverse("booking.review", token=token) + f"?hold={hold_id}")

    @get("/{token:str}/confirm", name="booking.review")
    async def review(self, request: Request, token: FromPath[str], hold: FromQuery[str] = "") -> Template:
        """The held time, with the button that books it."""
        visit = await booking.open_recall_link(_secret(request), token)
        return await _review(request, visit, token, hold, moving=False,
                             refuse=lambda errors, status: _slots_page(request, visit, token, errors=errors,
                                                                       status=status))

    @post("/{token:str}/confirm", name="booking.confirm")
    async def confirm(self, request: Request, token: FromPath[str]) -> Template | Redirect:
        """Book the held time; the confirmation mail with its calendar file follows."""
        visit = await booking.open_recall_link(_secret(request), token)
        await _count(request, token)
        form = await _form(request, "hold")
        try:
            appointment_id = await booking.confirm(visit, form["hold"], request.app.state.settings)
        except ValidationFailed as exc:
            return await _slots_page(request, visit, token, errors=exc.errors, status=409)
        return see_other(await booking.manage_path_for(_secret(request), visit, appointment_id) + "?done=booked")


class ManageBookingController(Controller):
    path = "/my-appointment"
    exception_handlers = {Throttled: _throttled}

    @get("/{token:str}", name="booking.manage")
    async def show(self, request: Request, token: FromPath[str], from_day: FromQuery[str] = "") -> Template:
        """The appointment, with cancel and other free times while the clinic's cutoff allows."""
        visit = await booking.open_manage_link(_secret(request), token)
        return await self._page(request, visit, token, from_day=from_day)

    async def _page(self, request: Request, visit: booking.Visit, token: str, errors: dict | None = None,
                    status: int = 200, from_day: str = "") -> Template:
        offer = await booking.offered_slots(visit, from_day=from_day) if booking.may_change(visit) else None
        rebook = None
        if visit.appointment["status"] == "cancelled":
            rebook = booking.recall_link(request.app.state.settings, visit.actor.clinic_id, visit.actor.patient_id)
        return _render(request, "booking/manage.html", visit, status, token=token, offer=offer,
                      errors=errors or {}, slot_value=booking.slot_value, may_change=booking.may_change(visit),
                      still_open=booking.still_open(visit),
                      notice=request.query_params.get("done", ""), rebook=rebook)

    @post("/{token:str}/cancel", name="booking.cancel")
    async def cancel(self, request: Request, token: FromPath[str]) -> Template | Redirect:
        """Cancel, up to the clinic's cutoff."""
        visit = await booking.open_manage_link(_secret(request), token)
        await _count(request, token)
        try:
            await booking.cancel(visit)
        except ValidationFailed as exc:
            return await self._page(request, visit, token, exc.errors, 409)
        return see_other(request.app.route_reverse("booking.manage", token=token) + "?done=cancelled")

    @post("/{token:str}/hold", name="booking.move_hold")
    async def hold(self, request: Request, token: FromPath[str]) -> Template | Redirect:
        """Hold another free time for this appointment."""
        visit = await booking.open_manage_link(_secret(request), token)
        await _count(request, token)
        form = await _form(request, "slot")
        try:
            if not booking.may_change(visit):
                raise ValidationFailed({"cutoff": booking.cutoff_message()})
            hold_id = await booking.hold_slot(visit, "", form["slot"])
        except ValidationFailed as exc:
            return await self._page(request, visit, token, exc.errors, 409)
        return see_other(request.app.route_reverse("booking.move_review", token=token) + f"?hold={hold_id}")

    @get("/{token:str}/confirm", name="booking.move_review")
    async def review(self, request: Request, token: FromPath[str], hold: FromQuery[str] = "") -> Template:
        """The held new time, with the button that moves the appointment there."""
        visit = await booking.open_manage_link(_secret(request), token)
        return await _review(request, visit, token, hold, moving=True,
                             refuse=lambda errors, status: self._page(request, visit, token, errors, status))

    @post("/{token:str}/confirm", name="booking.move")
    async def move(self, request: Request, token: FromPath[str]) -> Template | Redirect:
        """Move the appointment to the held time; a new mail with the updated calendar file follows."""
        visit = await booking.open_manage_link(_secret(request), token)
        await _count(request, token)
        form = await _form(request, "hold")
        try:
            appointment_id = await booking.confirm(visit, form["hold"], request.app.state.settings)
        except ValidationFailed as exc:
            return await self._page(request, visit, token, exc.errors, 409)
        return see_other(await booking.manage_path_for(_secret(request), visit, appointment_id) + "?done=moved")


class OfferController(Controller):
    path = "/offer"
    exception_handlers = {Throttled: _throttled}

    async def _page(self, request: Request, seen: waitlist.OfferVisit, token: str, errors: dict | None = None,
                    status: int = 200) -> Template:
        return _render(request, "booking/offer.html", seen.visit, status, token=token, offer=seen.offer,
                       errors=errors or {}, expired=seen.offer["expires_at"] <= clock.now())

    @get("/{token:str}", name="offer.show")
    async def show(self, request: Request, token: FromPath[str]) -> Template:
        """A freed time offered from the waitlist: take it or leave it."""
        return await self._page(request, await waitlist.open_offer(_secret(request), token), token)

    @post("/{token:str}/accept", name="offer.accept")
    async def accept(self, request: Request, token: FromPath[str]) -> Template | Redirect:
        """Take the offered time; the first acceptance wins."""
        seen = await waitlist.open_offer(_secret(request), token)
        await _count(request, token)
        try:
            await waitlist.accept(seen, request.app.state.settings)
        except ValidationFailed as exc:
            return await self._page(request, await waitlist.open_offer(_secret(request), token), token,
                                    exc.errors, 409)
        return see_other(request.app.route_reverse("offer.show", token=token))

    @post("/{token:str}/decline", name="offer.decline")
    async def decline(self, request: Request, token: FromPath[str]) -> Redirect:
        """Leave the offered time to someone else."""
        seen = await waitlist.open_offer(_secret(request), token)
        await _count(request, token)
        await waitlist.decline(seen)
        return see_other(request.app.route_reverse("offer.show", token=token))
