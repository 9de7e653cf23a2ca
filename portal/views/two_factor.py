"""Staff two-factor sign-in: the code after the password, and enrolment (QR code, first code, recovery codes)."""

import time
from dataclasses import dataclass

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from portal import auth, sessions
from portal.errors import ValidationFailed
from portal.i18n import _
from portal.memberships import clinics
from portal.two_factor import resets, totp
from portal.views.guards import CurrentActor, provide_actor, signed_in
from portal.views.pages import read_form, render, see_other


@dataclass(frozen=True)
class CodeForm:
    code: str = ""
    remember: bool = False


def _pending(request: Request) -> int | None:
    """The staff member whose password was right moments ago and who still owes the code."""
    session = request.session if request.scope.get("session") else {}
    staff_id = session.get("pending_staff_id")
    if not staff_id or time.time() - session.get("started", 0) > totp.PENDING_SECONDS:
        return None
    return staff_id


class TwoFactorController(Controller):
    @get("/login/code", name="two_factor.challenge")
    async def challenge(self, request: Request) -> Template | Redirect:
        """Ask for the code from the authenticator app (or a recovery code)."""
        if _pending(request) is None:
            return see_other(request.app.route_reverse("login"))
        return render(request, "two_factor/challenge.html", errors={})

    @post("/login/code", name="two_factor.verify")
    async def verify(self, request: Request) -> Template | Redirect:
        """Check the code; five wrong ones and the password is asked again."""
        staff_id = _pending(request)
        if staff_id is None:
            return see_other(request.app.route_reverse("login"))
        form = await read_form(request, CodeForm)
        actor = await auth.load_staff_actor(staff_id)
        settings = request.app.state.settings
        if actor is None or not await totp.check(settings, staff_id, actor.clinic_id, form.code[:40]):
            tries = request.session.get("code_tries", 0) + 1
            if tries >= totp.CODE_TRIES:
                request.clear_session()
                return see_other(request.app.route_reverse("login"))
            request.session["code_tries"] = tries
            return render(request, "two_factor/challenge.html", status=422,
                          errors={"code": _("That code is not right.")})
        target = request.session.get("pending_next") or request.app.route_reverse("dashboard")
        await sessions.start_session(request, request.app.stores.get("sessions"),
                                     {"staff_id": staff_id, "clinics": len(await clinics.memberships(staff_id))})
        response = see_other(target)
        if form.remember:
            response.set_cookie(totp.DEVICE_COOKIE, await totp.remember_device(staff_id),
                                max_age=totp.DEVICE_DAYS * 86400, httponly=True, secure=settings.https,
                                samesite="lax", path="/login")
        return response

    @get("/account/two-factor", name="two_factor.enrol", guards=[signed_in], dependencies={"actor": provide_actor})
    async def enrol(self, request: Request, actor: CurrentActor) -> Template:
        """The QR code to scan with an authenticator app, and the box for its first code."""
        enrolment = await totp.start_enrolment(actor, request.app.state.settings)
        return render(request, "two_factor/enrol.html", **enrolment, errors={},
                      devices=await resets.own_devices(actor))

    @post("/account/two-factor", name="two_factor.confirm", guards=[signed_in],
          dependencies={"actor": provide_actor})
    async def confirm(self, request: Request, actor: CurrentActor) -> Template:
        """The first code proves the app works; the recovery codes are shown once."""
        form = await read_form(request, CodeForm)
        settings = request.app.state.settings
        try:
            codes = await totp.confirm_enrolment(actor, settings, form.code[:40])
        except ValidationFailed as exc:
            return render(request, "two_factor/enrol.html", status=422, **await totp.start_enrolment(actor, settings),
                          errors=exc.errors, devices=0)
        request.session.pop("must_enrol", None)
        return render(request, "two_factor/recovery_codes.html", codes=codes)

    @post("/account/devices/revoke", name="two_factor.devices_revoke", guards=[signed_in],
          dependencies={"actor": provide_actor})
    async def revoke_devices(self, request: Request, actor: CurrentActor) -> Redirect:
        """Forget every device this account asked us to remember (a lost laptop)."""
        await resets.revoke_own_devices(actor)
        return see_other(request.app.route_reverse("two_factor.enrol") + "?devices=revoked")
