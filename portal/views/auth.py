"""Sign in and sign out for staff."""

from dataclasses import dataclass

from litestar import Controller, Request, get, post
from litestar.params import FromQuery
from litestar.response import Template

from portal import audit, auth, i18n, sessions
from portal.errors import SignInFailed, Throttled
from portal.memberships import clinics
from portal.two_factor import totp
from portal.views.guards import CurrentActor, provide_actor, signed_in
from portal.views.pages import see_other


@dataclass(frozen=True)
class SignInForm:
    email: str = ""
    password: str = ""
    next: str = ""


def _safe_next(request: Request, target: str) -> str:
    """Only same-site paths, so the sign-in page cannot be used to bounce people elsewhere; else the dashboard."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return request.app.route_reverse("dashboard")


def client_ip(request: Request) -> str:
    """The browser's address: the peer, or the last hop a trusted reverse proxy added to X-Forwarded-For."""
    peer = request.client.host if request.client else "?"
    forwarded = request.headers.get("x-forwarded-for", "")
    if forwarded and peer in request.app.state.settings.trusted_proxies:
        return forwarded.split(",")[-1].strip()[:64] or peer
    return peer


def _form(request: Request, status: int, email: str, next_path: str, error: str = "") -> Template:
    return Template(template_name="auth/login.html", status_code=status,
                    context={"email": email, "next": next_path, "error": error})


class AuthController(Controller):
    @get("/login", name="login")
    async def login_form(self, request: Request, next: FromQuery[str] = "") -> Template:
        """The sign-in form."""
        return _form(request, 200, "", _safe_next(request, next))

    @post("/login", name="login.submit")
    async def login(self, request: Request) -> Template:
        """Check credentials, then start a session under a fresh id."""
        posted = await request.form()
        form = SignInForm(email=str(posted.get("email", ""))[:320], password=str(posted.get("password", ""))[:1000],
                          next=_safe_next(request, str(posted.get("next", ""))))
        settings = request.app.state.settings
        try:
            known = auth.known_staff_ids(settings.secret_key, request.cookies.get(auth.DEVICE_COOKIE))
            actor = await auth.sign_in(form.email, form.password, client_ip(request), settings, known)
        except Throttled as exc:
            return _form(request, 429, form.email, form.next,
                         i18n.ngettext("Too many sign-in attempts. Please wait %(num)s minute and try again.",
                                       "Too many sign-in attempts. Please wait %(num)s minutes and try again.",
                                       exc.wait_minutes))
        except SignInFailed:
            return _form(request, 401, form.email, form.next,
                         i18n.gettext("That email and password do not match an active account."))
        store = request.app.stores.get("sessions")
        count = len(await clinics.memberships(actor.id))  # more than one: the menu offers the clinic switcher
        if await totp.enrolled(actor.id) and not await totp.device_remembered(
                actor.id, request.cookies.get(totp.DEVICE_COOKIE)):
            # The password was right; the session starts only after the second factor (portal/views/two_factor.py).
            await sessions.start_session(request, store, {"pending_staff_id": actor.id, "pending_next": form.next})
            response = see_other(request.app.route_reverse("two_factor.challenge"))
        elif await totp.must_enrol(actor, settings):
            await sessions.start_session(request, store, {"staff_id": actor.id, "must_enrol": True, "clinics": count})
            response = see_other(request.app.route_reverse("two_factor.enrol"))
        else:
            await sessions.start_session(request, store, {"staff_id": actor.id, "clinics": count})
            response = see_other(form.next)
        response.set_cookie(auth.DEVICE_COOKIE, auth.remember_device(
            settings.secret_key, request.cookies.get(auth.DEVICE_COOKIE), actor.id), max_age=auth.DEVICE_DAYS * 86400,
            httponly=True, secure=settings.https, samesite="lax", path="/login")
        return response

    @post("/logout", name="logout", guards=[signed_in], dependencies={"actor": provide_actor})
    async def logout(self, request: Request, actor: CurrentActor) -> Template:
        """End this session."""
        await audit.record(actor, "auth.signed_out", object_type="staff", object_id=actor.id)
        request.clear_session()
        return see_other(request.app.route_reverse("login"))

    @post("/logout/everywhere", name="logout.everywhere", guards=[signed_in], dependencies={"actor": provide_actor})
    async def logout_everywhere(self, request: Request, actor: CurrentActor) -> Template:
        """End every session of this account, on every device."""
        await auth.sign_out_everywhere(actor)
        request.clear_session()
        return see_other(request.app.route_reverse("login"))
