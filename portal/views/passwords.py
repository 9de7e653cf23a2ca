"""Password links: asking for a reset, choosing a password from an invitation or reset link, and the owner's
invite button. The link pages are public by design: the single-use token in the URL is the key."""

from dataclasses import dataclass

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal import staff_tokens
from portal.errors import ValidationFailed
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other


@dataclass(frozen=True)
class ResetRequestForm:
    email: str = ""


class PasswordController(Controller):
    path = "/password"

    @get("/forgot", name="password.forgot")
    async def forgot(self, request: Request) -> Template:
        """Ask for a reset link."""
        return render(request, "passwords/forgot.html", sent=False)

    @post("/forgot", name="password.forgot_submit", status_code=200)
    async def forgot_submit(self, request: Request) -> Template:
        """The same answer whether or not the address is known."""
        form = await read_form(request, ResetRequestForm)
        await staff_tokens.queue_reset_request(form.email[:320])
        return render(request, "passwords/forgot.html", sent=True)

    @get("/{token:str}", name="password.choose")
    async def choose(self, request: Request, token: FromPath[str]) -> Template:
        """The form behind an invitation or reset link (404 once used or expired)."""
        return render(request, "passwords/choose.html", token=token, errors={},
                      **await staff_tokens.check(token))

    @post("/{token:str}", name="password.set")
    async def set_password(self, request: Request, token: FromPath[str]) -> Template | Redirect:
        """Set the password, use up the link, end the account's other sessions."""
        form = await read_form(request, staff_tokens.NewPasswordForm)
        try:
            await staff_tokens.set_password(token, form)
        except ValidationFailed as exc:
            return render(request, "passwords/choose.html", status=422, token=token, errors=exc.errors,
                          **await staff_tokens.check(token))
        return see_other(request.app.route_reverse("login") + "?password=set")


class InvitationController(Controller):
    path = "/staff"
    guards = [signed_in, requires(Permission.MANAGE_STAFF)]
    dependencies = {"actor": provide_actor}

    @post("/{staff_id:int}/invite", name="staff.invite")
    async def invite(self, request: Request, actor: CurrentActor, staff_id: FromPath[int]) -> Redirect:
        """Mail the staff member a link to choose their own password."""
        await staff_tokens.invite(actor, request.app.state.settings, staff_id)
        return see_other(request.app.route_reverse("staff.edit", staff_id=staff_id) + "?invited=1")
