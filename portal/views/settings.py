"""Practice set-up for the owner: chairs, appointment types, opening hours, closures, provider schedules."""

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal import i18n
from portal.calendar import appointment_mail, practice_setup
from portal.errors import ValidationFailed
from portal.messaging import calls, conversations, sms_inbound
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other


def _back_to(request: Request, section: str) -> Redirect:
    """Redirect-after-post to one section of the set-up page."""
    return see_other(f"{request.app.route_reverse('settings.show')}#{section}")


class SettingsController(Controller):
    path = "/settings"
    guards = [signed_in, requires(Permission.MANAGE_CLINIC)]
    dependencies = {"actor": provide_actor}

    async def _page(self, request: Request, actor, errors: dict | None = None, status: int = 200,
                    posted: dict | None = None, closure_impact: dict | None = None) -> Template:
        return render(request, "settings/index.html", status=status, errors=errors or {}, posted=posted or {},
                      closure_impact=closure_impact,
                      reminder_hours=await appointment_mail.reminder_hours(actor),
                      whatsapp_number_id=await conversations.whatsapp_number_id(actor),
                      sms_number=await sms_inbound.sms_number(actor),
                      voice=await calls.voice_numbers(actor),
                      clinic_language=await practice_setup.clinic_language(actor), languages=i18n.LANGUAGES,
                      **await practice_setup.overview(actor))

    @get("/", name="settings.show")
    async def show(self, request: Request, actor: CurrentActor, closure: FromQuery[int | None] = None) -> Template:
        """Everything the calendar needs, on one page; after a new closure, the appointments it falls on."""
        impact = await practice_setup.closure_impact(actor, closure) if closure else None
        return await self._page(request, actor, closure_impact=impact)

    @post("/language", name="settings.language")
    async def language(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """The clinic's language: staff read it unless they chose their own; patients without one get it too."""
        try:
            await practice_setup.set_clinic_language(actor, str((await request.form()).get("clinic_language", "")))
        except ValidationFailed as exc:
            return await self._page(request, actor, exc.errors, 422)
        return _back_to(request, "language")

    @post("/reminders", name="settings.reminders")
    async def reminders(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """How many hours before an appointment reminders go out."""
        try:
            await appointment_mail.set_reminder_hours(actor, str((await request.form()).get("reminder_hours", "")))
        except ValidationFailed as exc:
            return await self._page(request, actor, exc.errors, 422)
        return _back_to(request, "reminders")

    @post("/whatsapp", name="settings.whatsapp")
    async def whatsapp(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """The clinic's WhatsApp business number (Meta's phone number id)."""
        try:
            await conversations.set_whatsapp_number_id(
                actor, str((await request.form()).get("whatsapp_phone_number_id", "")))
        except ValidationFailed as exc:
            return await self._page(request, actor, exc.errors, 422)
        return _back_to(request, "reminders")

    @post("/sms", name="settings.sms")
    async def sms(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """The clinic's own SMS number: texts come from it and replies to it reach this clinic."""
        typed = str((await request.form()).get("sms_number", ""))
        try:
            await sms_inbound.set_sms_number(actor, typed, actor.country)
        except ValidationFailed as exc:
            return await self._page(request, actor, exc.errors, 422, posted={"sms_number": typed})
        return _back_to(request, "reminders")

    @post("/voice", name="settings.voice")
    async def voice(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """The clinic's voice number and where its calls ring."""
        form = await request.form()
        typed = {name: str(form.get(name, "")) for name in ("voice_number", "voice_forward_to")}
        try:
            await calls.set_voice_numbers(actor, typed["voice_number"], typed["voice_forward_to"], actor.country)
        except ValidationFailed as exc:
            return await self._page(request, actor, exc.errors, 422, posted=typed)
        return _back_to(request, "reminders")

    @post("/chairs", name="settings.add_chair")
    async def add_chair(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """Add a chair (operatory)."""
        try:
            await practice_setup.add_chair(actor, str((await request.form()).get("name", "")))
        except ValidationFailed as exc:
            return await self._page(request, actor, {f"chair_{k}": v for k, v in exc.errors.items()}, 422)
        return _back_to(request, "chairs")

    @post("/chairs/{chair_id:int}/retire", name="settings.retire_chair")
    async def retire_chair(self, request: Request, actor: CurrentActor, chair_id: FromPath[int]) -> Redirect:
        """Retire a chair; its history stays."""
        await practice_setup.retire_chair(actor, chair_id)
        return _back_to(request, "chairs")

    @post("/types", name="settings.add_type")
    async def add_type(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """Add an appointment type."""
        form = await read_form(request, practice_setup.TypeForm)
        roles = (await request.form()).getall("roles", [])
        try:
            await practice_setup.add_type(actor, practice_setup.TypeForm(
                name=form.name, minutes=form.minutes, colour=form.colour, provider_roles=",".join(roles)))
        except ValidationFailed as exc:
            return await self._page(request, actor, {f"type_{k}": v for k, v in exc.errors.items()}, 422)
        return _back_to(request, "types")

    @post("/hours", name="settings.hours")
    async def hours(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """Opening hours for each weekday (empty = closed)."""
        try:
            await practice_setup.set_week_hours(actor, dict(await request.form()))
        except ValidationFailed as exc:
            return await self._page(request, actor, exc.errors, 422)
        return _back_to(request, "hours")

    @post("/closures", name="settings.add_closure")
    async def add_closure(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """A public holiday or closed period."""
        posted = {k: str(v) for k, v in (await request.form()).items()}
        try:
            closure_id = await practice_setup.add_closure(actor, posted.get("first_day", ""),
                                                          posted.get("last_day", ""), posted.get("reason", ""))
        except ValidationFailed as exc:
            return await self._page(request, actor, {f"closure_{k}": v for k, v in exc.errors.items()}, 422,
                                    posted=posted)
        return see_other(f"{request.app.route_reverse('settings.show')}?closure={closure_id}#closures")

    @post("/closures/remove", name="settings.remove_closure")
    async def remove_closure(self, request: Request, actor: CurrentActor) -> Redirect:
        """Open on a closure's days after all; the waitlist is offered the time."""
        closure = str((await request.form()).get("closure_id", ""))
        await practice_setup.remove_closure(actor, int(closure) if closure.isdigit() else 0)
        return _back_to(request, "closures")

    @post("/providers/{staff_id:int}/hours", name="settings.provider_hours")
    async def provider_hours(self, request: Request, actor: CurrentActor,
                             staff_id: FromPath[int]) -> Template | Redirect:
        """A provider's working hours per weekday, each in an optional fixed chair."""
        try:
            await practice_setup.set_provider_week(actor, staff_id, dict(await request.form()))
        except ValidationFailed as exc:
            return await self._page(request, actor, {f"provider_{staff_id}_{k}": v for k, v in exc.errors.items()},
                                    422)
        return _back_to(request, f"provider-{staff_id}")

    @post("/providers/{staff_id:int}/absences", name="settings.add_absence")
    async def add_absence(self, request: Request, actor: CurrentActor, staff_id: FromPath[int]) -> Template | Redirect:
        """Days a provider is away (holiday, course, illness)."""
        posted = await request.form()
        try:
            await practice_setup.add_absence(actor, staff_id, str(posted.get("first_day", "")),
                                             str(posted.get("last_day", "")), str(posted.get("reason", "")))
        except ValidationFailed as exc:
            return await self._page(request, actor, {f"provider_{staff_id}_{k}": v for k, v in exc.errors.items()},
                                    422)
        return _back_to(request, f"provider-{staff_id}")
