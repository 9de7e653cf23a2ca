"""The patient's privacy centre: sign in by mailed link, see and download everything, corrections, erasure,
restriction and objection, consents, questions, the notice. Patient sessions only; staff sessions are refused."""

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal import i18n, links
from portal.contacts import changes as contact_changes
from portal.errors import Forbidden, NotFound, Throttled, ValidationFailed, WrongSession
from portal.i18n import N_, gettext, lazy_gettext
from portal.patients import LANGUAGES
from portal.permissions import Actor
from portal.privacy import centre, export, notice, requests, signin
from portal.privacy.registry import all_categories
from portal.privacy.schema import json_schema
from portal.views.auth import client_ip
from portal.views.pages import read_form, see_other

ASKS = {"erasure": lazy_gettext("Erase my data"), "restriction": lazy_gettext("Restrict the use of my data"),
        "objection": lazy_gettext("Object to the use of my data")}
ASKS_FOR_CHILD = {"erasure": N_("Erase %(name)s's data"), "restriction": N_("Restrict the use of %(name)s's data"),
                  "objection": N_("Object to the use of %(name)s's data")}


def _ask_title(request: Request, kind: str) -> str:
    child = request.state.get("child")
    return gettext(ASKS_FOR_CHILD[kind], name=child) if child else ASKS[kind]


class PatientSignInRequired(Exception):
    """No (live) patient session: back to the privacy centre's sign-in."""


def no_staff_session(connection: Request, _: BaseRouteHandler | None = None) -> None:
    """Guard: a browser signed in as staff is refused on patient pages (and told why)."""
    session = connection.scope.get("session")
    if isinstance(session, dict) and session.get("staff_id"):
        raise WrongSession("staff")


async def patient_signed_in(connection: Request, _: BaseRouteHandler) -> None:
    """Guard: load the patient session from its own cookie; a chosen patient is required past the chooser."""
    no_staff_session(connection)
    signed = await signin.load(connection.cookies.get(signin.COOKIE, ""), connection.app.state.settings)
    if signed is None:
        raise PatientSignInRequired()
    connection.state.signed_in = signed
    if signed.actor is None and connection.scope.get("route_handler").name not in ("privacy.choose",
                                                                                    "privacy.choose_submit",
                                                                                    "privacy.sign_out"):
        raise PatientSignInRequired()
    connection.state.patient = signed.actor
    if signed.actor is not None:
        i18n.use(signed.actor.language, signed.actor.country)
        connection.state.child = await centre.acting_for(signed.actor)  # a guardian's pages speak of the child
        if connection.headers.get("sec-gpc", "").strip() == "1":
            connection.state.gpc_at = await centre.honour_gpc(signed.actor)


def _to_sign_in(request: Request, _: Exception) -> Response:
    signed = request.state.get("signed_in")
    target = request.app.route_reverse("privacy.choose" if signed else "privacy.start")
    if getattr(request, "htmx", None):
        return Response(content="", status_code=401, headers={"HX-Redirect": target})
    return Redirect(path=target, status_code=303)


def page(request: Request, template: str, fragment: str | None = None, /, status: int = 200, **context) -> Template:
    """Patient pages: the staff navigation never shows; htmx swaps get the fragment; times show in the clinic's
    zone (there is no staff actor to take it from)."""
    htmx = getattr(request, "htmx", None)
    wants_fragment = fragment is not None and bool(htmx) and not htmx.boosted
    patient = request.state.get("patient")
    context.update(actor=None, patient_actor=patient, time_zone=patient.time_zone if patient else "UTC",
                   gpc_at=request.state.get("gpc_at"), child=request.state.get("child"))
    return Template(template_name=fragment if wants_fragment else template, context=context, status_code=status)


def link_url(request: Request, token: str) -> str:
    """The mailed link, on the public URL: a forged Host header cannot send a victim's link elsewhere."""
    return links.absolute_url(request.app.state.settings, request.app.route_reverse("privacy.link", token=token))


def _me(request: Request) -> Actor:
    return request.state.patient


def _cooling_days(request: Request) -> int:
    return request.app.state.settings.contact_cooling_days


class PrivacyCentreController(Controller):
    path = "/privacy"
    exception_handlers = {PatientSignInRequired: _to_sign_in}

    @get("/", name="privacy.start", guards=[no_staff_session])
    async def start(self, request: Request) -> Template:
        """Sign in with email and date of birth."""
        return page(request, "privacy_centre/start.html", form=signin.LinkForm(), errors={})

    @post("/", name="privacy.request_link", guards=[no_staff_session])
    async def request_link(self, request: Request) -> Template:
        """Mail a link if the details match; the answer never says whether they did."""
        form = await read_form(request, signin.LinkForm)
        settings = request.app.state.settings
        try:
            await signin.request_link(form, client_ip(request), settings, lambda token: link_url(request, token))
        except ValidationFailed as exc:
            return page(request, "privacy_centre/start.html", status=422, form=form, errors=exc.errors)
        except Throttled as exc:
            return page(request, "privacy_centre/start.html", status=429, form=form, errors={},
                        throttled=exc.wait_minutes)
        return page(request, "privacy_centre/link_sent.html", email=form.email.strip())

    @get("/schema", name="privacy.schema", sync_to_thread=False)
    def schema(self, request: Request) -> Response:
        """The published JSON Schema of the export document."""
        return Response(content=json_schema(),
                        media_type="application/schema+json")

    @get("/schema/about", name="privacy.schema_doc")
    async def schema_doc(self, request: Request) -> Template:
        """The export format, documented for people and for other clinics' systems."""
        return page(request, "privacy_centre/schema_doc.html", categories=all_categories())

    @get("/link/{token:str}", name="privacy.link", guards=[no_staff_session])
    async def link(self, request: Request, token: FromPath[str]) -> Template:
        """A button, not an automatic sign-in: mail scanners that open links must not use them up."""
        return page(request, "privacy_centre/link.html", token=token)

    @post("/link/{token:str}", name="privacy.link_use", guards=[no_staff_session])
    async def use_link(self, request: Request, token: FromPath[str]) -> Response:
        """Use the link once and start a patient session."""
        session_token = await signin.redeem(token, request.app.state.settings)
        if session_token is None:
            return page(request, "privacy_centre/link_invalid.html", status=410)
        settings = request.app.state.settings
        response = Redirect(path=request.app.route_reverse("privacy.choose"), status_code=303)
        response.set_cookie(Cookie(key=signin.COOKIE, value=session_token, path="/", httponly=True,
                                   secure=settings.https, samesite="lax",
                                   max_age=settings.session_absolute_hours * 3600))
        return response

    @get("/choose", name="privacy.choose", guards=[patient_signed_in])
    async def choose(self, request: Request) -> Template | Redirect:
        """Whose data to see (a guardian may act for several children)."""
        signed = request.state.signed_in
        people = await signin.choices(signed.clinic_id, signed.email)
        allowed = [p for p in people if p["allowed"]]
        if len(allowed) == 1 and len(people) == 1:
            await signin.choose(signed, allowed[0]["patient_id"])
            return see_other(request.app.route_reverse("privacy.me"))
        return page(request, "privacy_centre/choose.html", people=people)

    @post("/choose", name="privacy.choose_submit", guards=[patient_signed_in])
    async def choose_submit(self, request: Request) -> Template | Redirect:
        """Switch to one person's data; a child who has come of age is refused to the guardian."""
        raw = str((await request.form()).get("patient_id", ""))
        try:
            await signin.choose(request.state.signed_in, int(raw) if raw.isdigit() and len(raw) < 10 else 0)
        except Forbidden:
            return page(request, "privacy_centre/now_adult.html", status=403)
        return see_other(request.app.route_reverse("privacy.me"))

    @post("/signout", name="privacy.sign_out", guards=[patient_signed_in])
    async def sign_out(self, request: Request) -> Response:
        """End this patient session."""
        await signin.sign_out(request.state.signed_in)
        response = Redirect(path=request.app.route_reverse("privacy.start"), status_code=303)
        response.delete_cookie(signin.COOKIE, path="/")
        return response

    @get("/me", name="privacy.me", guards=[patient_signed_in])
    async def me(self, request: Request) -> Template:
        """Everything held, by category, with purpose, basis, recipients and erasable date."""
        data = await centre.everything(_me(request), request.app.state.settings.contact_cooling_days)
        return page(request, "privacy_centre/me.html", **data, exports=await export.latest_exports(_me(request)))

    @get("/me/consents", name="privacy.consents", guards=[patient_signed_in])
    async def consents(self, request: Request) -> Template:
        """Consent toggles and the ledger."""
        return page(request, "privacy_centre/consents.html", **await centre.consent_page(_me(request)))

    @post("/me/consents/{kind:str}", name="privacy.consent_set", guards=[patient_signed_in])
    async def consent_set(self, request: Request, kind: FromPath[str]) -> Template:
        """Give or withdraw one consent; takes effect at once."""
        granted = str((await request.form()).get("granted", "")) == "yes"
        await centre.set_consent(_me(request), kind, granted)
        return page(request, "privacy_centre/consents.html", "privacy_centre/_consents.html",
                    **await centre.consent_page(_me(request)))

    @get("/me/contact", name="privacy.contact", guards=[patient_signed_in])
    async def contact(self, request: Request) -> Template:
        """Change contact details directly."""
        return page(request, "privacy_centre/contact.html", form=await centre.contact_form(_me(request)), errors={},
                    languages=LANGUAGES, waiting=await contact_changes.own_waiting(_me(request)))

    @post("/me/contact", name="privacy.contact_save", guards=[patient_signed_in])
    async def contact_save(self, request: Request) -> Template | Redirect:
        """Save contact details."""
        form = await read_form(request, centre.ContactForm)
        try:
            await centre.change_contact(_me(request), form)
        except ValidationFailed as exc:
            return page(request, "privacy_centre/contact.html", status=422, form=form, errors=exc.errors,
                        languages=LANGUAGES, waiting=await contact_changes.own_waiting(_me(request)))
        return see_other(request.app.route_reverse("privacy.me") + "#contact")

    @get("/me/correction", name="privacy.correction", guards=[patient_signed_in])
    async def correction(self, request: Request) -> Template:
        """Ask for a correction: pick the record it concerns (a detail, an appointment, a tooth, a note, an entry)."""
        return page(request, "privacy_centre/correction.html", form=requests.CorrectionForm(), errors={},
                    choices=await requests.correction_choices(_me(request), _cooling_days(request)))

    @post("/me/correction", name="privacy.correction_submit", guards=[patient_signed_in])
    async def correction_submit(self, request: Request) -> Template | Redirect:
        """File the correction request (a record that is not the patient's own is refused beside the field)."""
        form = await read_form(request, requests.CorrectionForm)
        try:
            request_id = await requests.ask_correction(_me(request), form)
        except ValidationFailed as exc:
            return page(request, "privacy_centre/correction.html", status=422, form=form, errors=exc.errors,
                        choices=await requests.correction_choices(_me(request), _cooling_days(request)))
        return see_other(request.app.route_reverse("privacy.request", request_id=request_id))

    @get("/me/ask/{kind:str}", name="privacy.ask", guards=[patient_signed_in])
    async def ask(self, request: Request, kind: FromPath[str]) -> Template:
        """Erasure, restriction or objection: what happens, and the button."""
        if kind not in ASKS:
            raise NotFound()
        return page(request, "privacy_centre/ask.html", kind=kind, title=_ask_title(request, kind),
                    form=requests.ReasonForm(), errors={})

    @post("/me/ask/{kind:str}", name="privacy.ask_submit", guards=[patient_signed_in])
    async def ask_submit(self, request: Request, kind: FromPath[str]) -> Template | Redirect:
        """File an erasure, restriction or objection request."""
        if kind not in ASKS:
            raise NotFound()
        form = await read_form(request, requests.ReasonForm)
        try:
            request_id = await requests.ask_with_reason(_me(request), kind, form)
        except ValidationFailed as exc:
            return page(request, "privacy_centre/ask.html", status=422, kind=kind, title=_ask_title(request, kind),
                        form=form, errors=exc.errors)
        return see_other(request.app.route_reverse("privacy.request", request_id=request_id))

    @get("/me/questions", name="privacy.questions", guards=[patient_signed_in])
    async def questions(self, request: Request) -> Template:
        """Ask the clinic a question about your data."""
        return page(request, "privacy_centre/questions.html", form=requests.InquiryForm(), errors={})

    @post("/me/questions", name="privacy.question_submit", guards=[patient_signed_in])
    async def question_submit(self, request: Request) -> Template | Redirect:
        """File an inquiry (answered within 15 days)."""
        form = await read_form(request, requests.InquiryForm)
        try:
            request_id = await requests.ask_question(_me(request), form)
        except ValidationFailed as exc:
            return page(request, "privacy_centre/questions.html", status=422, form=form, errors=exc.errors)
        return see_other(request.app.route_reverse("privacy.request", request_id=request_id))

    @get("/me/requests", name="privacy.requests", guards=[patient_signed_in])
    async def my_requests(self, request: Request) -> Template:
        """Your requests and questions, with their status."""
        return page(request, "privacy_centre/requests.html", rows=await requests.own_requests(_me(request)))

    @get("/me/requests/{request_id:int}", name="privacy.request", guards=[patient_signed_in])
    async def my_request(self, request: Request, request_id: FromPath[int]) -> Template:
        """One request and its status."""
        return page(request, "privacy_centre/request.html", row=await requests.own_request(_me(request), request_id),
                    kinds=requests.KINDS)

    @post("/me/export", name="privacy.export_start", guards=[patient_signed_in])
    async def export_start(self, request: Request) -> Redirect:
        """Start building the download in the background."""
        export_id = await export.start_export(_me(request))
        return see_other(request.app.route_reverse("privacy.export", export_id=export_id))

    @get("/me/exports/{export_id:int}", name="privacy.export", guards=[patient_signed_in])
    async def export_progress(self, request: Request, export_id: FromPath[int]) -> Template:
        """Progress (polled every second by htmx until ready), then the download link."""
        return page(request, "privacy_centre/export.html", "privacy_centre/_export.html",
                    job=await export.export_status(_me(request), export_id))

    @get("/me/exports/{export_id:int}/download", name="privacy.export_download", guards=[patient_signed_in])
    async def export_download(self, request: Request, export_id: FromPath[int]) -> Response:
        """The ZIP (until its link expires)."""
        name, data = await export.download(_me(request), export_id)
        return Response(content=data, media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @get("/notice/{clinic_id:int}", name="privacy.public_notice")
    async def public_notice(self, request: Request, clinic_id: FromPath[int],
                            version: FromQuery[int | None] = None) -> Template:
        """The clinic's notice for anyone (signed out): the version in force or an earlier one, every version with
        its date, and what each changed."""
        return page(request, "privacy_centre/public_notice.html", **await notice.public(clinic_id, version))

    @get("/me/notice", name="privacy.notice", guards=[patient_signed_in])
    async def read_notice(self, request: Request) -> Template:
        """The clinic's privacy notice in force."""
        return page(request, "privacy_centre/notice.html", notice=await notice.current(_me(request).clinic_id),
                    default_text=notice.DEFAULT_TEXT.format(clinic=_me(request).clinic_name))

