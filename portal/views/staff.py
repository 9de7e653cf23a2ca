"""Staff management for the owner: list, add, edit, change role, deactivate."""

from dataclasses import dataclass

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal import display, i18n, staff, staff_tokens
from portal.errors import ValidationFailed
from portal.memberships import email_changes
from portal.permissions import Permission, Role
from portal.two_factor import resets
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other


async def _form_page(request: Request, form: staff.StaffForm, staff_id: int | None, errors: dict, status: int = 200):
    second_factor = await resets.status(request.state.actor, staff_id) if staff_id else None
    pending = (await staff.pending_addresses(request.state.actor.clinic_id, staff_id)).get(staff_id) \
        if staff_id else None
    return render(request, "staff/form.html", status=status, form=form, staff_id=staff_id, errors=errors,
                  second_factor=second_factor, pending_email=pending,
                  roles={r.value: display.label(r.value, "role") for r in Role},
                  staff_languages={"": i18n.gettext("The clinic's language"), **i18n.LANGUAGES})


class StaffController(Controller):
    path = "/staff"
    guards = [signed_in, requires(Permission.MANAGE_STAFF)]
    dependencies = {"actor": provide_actor}

    @get("/", name="staff.list")
    async def index(self, request: Request, actor: CurrentActor) -> Template:
        """Everyone who works at the clinic."""
        return render(request, "staff/list.html", members=await staff.list_staff(actor),
                      roles={r.value: display.label(r.value, "role") for r in Role})

    @get("/new", name="staff.new")
    async def new(self, request: Request, actor: CurrentActor) -> Template:
        """Form for a new staff member."""
        return await _form_page(request, staff.StaffForm(role=Role.RECEPTIONIST.value), None, {})

    @post("/", name="staff.create")
    async def create(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """Add a staff member."""
        form = await read_form(request, staff.StaffForm)
        try:
            staff_id = await staff_tokens.invite_new_staff(actor, request.app.state.settings, form)
        except ValidationFailed as exc:
            return await _form_page(request, form, None, exc.errors, 422)
        return see_other(request.app.route_reverse("staff.edit", staff_id=staff_id) + "?invited=1")

    @get("/{staff_id:int}", name="staff.edit")
    async def edit(self, request: Request, actor: CurrentActor, staff_id: FromPath[int]) -> Template:
        """Edit a staff member."""
        return await _form_page(request, staff.form_from_record(await staff.get_staff(actor, staff_id)), staff_id, {})

    @post("/{staff_id:int}/sign-out", name="staff.sign_out")
    async def sign_out(self, request: Request, actor: CurrentActor, staff_id: FromPath[int]) -> Redirect:
        """End every session of this staff member."""
        await staff.end_sessions(actor, staff_id)
        return see_other(request.app.route_reverse("staff.list"))

    @post("/{staff_id:int}/two-factor/reset", name="staff.two_factor_reset")
    async def reset_two_factor(self, request: Request, actor: CurrentActor, staff_id: FromPath[int]) -> Redirect:
        """Take back a member's second factor (a lost phone): they enrol again at their next sign-in."""
        await resets.reset(actor, staff_id)
        return see_other(request.app.route_reverse("staff.edit", staff_id=staff_id) + "?two_factor=reset")

    @post("/{staff_id:int}/devices/revoke", name="staff.devices_revoke")
    async def revoke_devices(self, request: Request, actor: CurrentActor, staff_id: FromPath[int]) -> Redirect:
        """Forget every device the member asked us to remember: the code is asked there again."""
        await resets.revoke_devices(actor, staff_id)
        return see_other(request.app.route_reverse("staff.edit", staff_id=staff_id) + "?two_factor=devices")

    @post("/{staff_id:int}/delete", name="staff.delete")
    async def delete(self, request: Request, actor: CurrentActor, staff_id: FromPath[int]) -> Template | Redirect:
        """Delete the account: it stops working now; the worker erases the person's data."""
        try:
            await staff.request_deletion(actor, staff_id)
        except ValidationFailed as exc:
            return await _form_page(request, staff.form_from_record(await staff.get_staff(actor, staff_id)),
                                    staff_id, exc.errors, 422)
        return see_other(request.app.route_reverse("staff.list"))

    @post("/{staff_id:int}/email-change/cancel", name="staff.email_change_cancel")
    async def cancel_email_change(self, request: Request, actor: CurrentActor, staff_id: FromPath[int]) -> Redirect:
        """Withdraw a new address still waiting for its holder: both mailed links stop working."""
        await email_changes.cancel(actor, staff_id)
        return see_other(request.app.route_reverse("staff.edit", staff_id=staff_id))

    @post("/{staff_id:int}", name="staff.update")
    async def update(self, request: Request, actor: CurrentActor, staff_id: FromPath[int]) -> Template | Redirect:
        """Save changes; deactivation ends the person's sessions at once; a new address waits for its holder."""
        form = await read_form(request, staff.StaffForm)
        try:
            await email_changes.save(actor, request.app.state.settings, staff_id, form)
        except ValidationFailed as exc:
            return await _form_page(request, form, staff_id, exc.errors, 422)
        return see_other(request.app.route_reverse("staff.list"))


class LanguageController(Controller):
    """Any signed-in staff member chooses the language they read (the menu under their name)."""

    path = "/account/language"
    guards = [signed_in]
    dependencies = {"actor": provide_actor}

    @post("/", name="account.language")
    async def choose(self, request: Request, actor: CurrentActor) -> Redirect:
        """Save the choice and return to the page it was made on."""
        posted = await request.form()
        try:
            await staff.set_own_language(actor, str(posted.get("language", ""))[:16])
        except ValidationFailed:
            pass  # only a forged form sends another value: nothing changes
        back = str(posted.get("next", ""))
        return see_other(back if back.startswith("/") and not back.startswith("//") and "\\" not in back
                         else request.app.route_reverse("dashboard"))


@dataclass(frozen=True)
class OwnEmailForm:
    email: str = ""


class OwnEmailController(Controller):
    """Any signed-in staff member changes the address they sign in with; the new address confirms it."""

    path = "/account/email"
    guards = [signed_in]
    dependencies = {"actor": provide_actor}

    async def _page(self, request: Request, actor, typed: str = "", errors: dict | None = None, status: int = 200):
        return render(request, "staff/account_email.html", status=status, typed=typed, errors=errors or {},
                      **await email_changes.own(actor))

    @get("/", name="account.email")
    async def show(self, request: Request, actor: CurrentActor) -> Template:
        """The address they sign in with, a change waiting for confirmation, the form for a new one."""
        return await self._page(request, actor)

    @post("/", name="account.email_change")
    async def change(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """Send the new address its link and the current one its notice; the same answer for every address."""
        form = await read_form(request, OwnEmailForm)
        try:
            await email_changes.propose_own(actor, request.app.state.settings, form.email[:320])
        except ValidationFailed as exc:
            return await self._page(request, actor, form.email, exc.errors, 422)
        return see_other(request.app.route_reverse("account.email"))

    @post("/cancel", name="account.email_cancel")
    async def cancel(self, request: Request, actor: CurrentActor) -> Redirect:
        """Withdraw their own pending change."""
        await email_changes.cancel_own(actor)
        return see_other(request.app.route_reverse("account.email"))


class EmailLinkController(Controller):
    """The links of an email change, public by design (the single-use token is the key): the new address's holder
    confirms, the previous address reports a change it did not ask for. Opening a link changes nothing (mail
    scanners fetch links); the button does."""

    path = "/staff-email"

    @get("/done", name="staff_email.done")
    async def done(self, request: Request) -> Template:
        """Where a used link lands."""
        return render(request, "staff/email_link.html", purpose="done",
                      reported=request.query_params.get("reported") == "1", errors={})

    @get("/{token:str}", name="staff_email.show")
    async def show(self, request: Request, token: FromPath[str]) -> Template:
        """What the link is for, and its button (404 once used or expired)."""
        return render(request, "staff/email_link.html", token=token, errors={}, **await email_changes.check(token))

    @post("/{token:str}", name="staff_email.use")
    async def use(self, request: Request, token: FromPath[str]) -> Template | Redirect:
        """Confirm the new address, or report the change."""
        link = await email_changes.check(token)
        try:
            if link["purpose"] == "email_change":
                if choose := await email_changes.confirm(token):  # a sign-in of its own: its password first
                    return see_other(request.app.route_reverse("password.choose", token=choose))
            else:
                await email_changes.report(token)
        except ValidationFailed as exc:
            return render(request, "staff/email_link.html", status=409, token=token, errors=exc.errors, **link)
        done = request.app.route_reverse("staff_email.done")
        return see_other(done + ("?reported=1" if link["purpose"] == "email_report" else ""))
