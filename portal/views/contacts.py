"""Address confirmation: the emailed link, the report link for the previous address, the texted code (typed by
staff or in the privacy centre) and staff's in-person check. The rules live in portal/contacts/changes.py."""

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.contacts import changes
from portal.errors import ValidationFailed
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other
from portal.views.privacy_centre import PatientSignInRequired, _to_sign_in, no_staff_session, page, patient_signed_in


async def _changes_page(request: Request, data: dict, errors: dict, status: int = 200, failed: int | None = None
                        ) -> Template:
    cooling = await changes.cooling_until(request.state.actor.clinic_id, data["patient_id"],
                                          request.app.state.settings.contact_cooling_days)
    return render(request, "contacts/changes.html", "contacts/_changes.html", status=status, errors=errors,
                  failed=failed, cooling_until=cooling, **data)


class PatientContactsController(Controller):
    """Staff: the patient's address changes, on the patient page (loaded by htmx)."""

    path = "/patients/{patient_id:int}/contacts"
    guards = [signed_in, requires(Permission.READ_DEMOGRAPHICS)]
    dependencies = {"actor": provide_actor}

    @get("/", name="contacts.changes")
    async def changes(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """Addresses waiting for confirmation, and the last changes with who confirmed them and how."""
        return await _changes_page(request, await changes.changes_for(actor, patient_id), {})

    @post("/{change_id:int}/in-person", name="contacts.in_person", guards=[requires(Permission.EDIT_DEMOGRAPHICS)])
    async def in_person(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                        change_id: FromPath[int]) -> Template | Redirect:
        """Confirm in person: the holder is here and showed an identity document."""
        form = await read_form(request, changes.InPersonForm)
        try:
            await changes.confirm_in_person(actor, patient_id, change_id, form)
        except ValidationFailed as exc:
            data = await changes.changes_for(actor, patient_id)
            return await _changes_page(request, data, exc.errors, 422, change_id)
        return see_other(request.app.route_reverse("patients.show", patient_id=patient_id))

    @post("/cooling/end", name="contacts.end_cooling", guards=[requires(Permission.READ_CLINICAL)])
    async def end_cooling(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]
                          ) -> Template | Redirect:
        """A clinician saw the patient and an identity document later: the health record opens to them now."""
        form = await read_form(request, changes.InPersonForm)
        try:
            await changes.end_cooling(actor, patient_id, request.app.state.settings.contact_cooling_days, form)
        except ValidationFailed as exc:
            return await _changes_page(request, await changes.changes_for(actor, patient_id), exc.errors, 422, 0)
        return see_other(request.app.route_reverse("patients.show", patient_id=patient_id))

    @post("/{change_id:int}/code", name="contacts.staff_code", guards=[requires(Permission.EDIT_DEMOGRAPHICS)])
    async def staff_code(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                         change_id: FromPath[int]) -> Template | Redirect:
        """The code the holder received by text message, read out to staff."""
        form = await read_form(request, changes.CodeForm)
        try:
            await changes.confirm_code(actor, patient_id, change_id, form)
        except ValidationFailed as exc:
            data = await changes.changes_for(actor, patient_id)
            return await _changes_page(request, data, exc.errors, 422, change_id)
        return see_other(request.app.route_reverse("patients.show", patient_id=patient_id))


class AddressLinkController(Controller):
    """Public: the links in the mail. A button, not an automatic action, so mail scanners use nothing up."""

    path = "/contact"
    guards = [no_staff_session]

    @get("/confirm/{token:str}", name="contacts.confirm")
    async def confirm(self, request: Request, token: FromPath[str]) -> Template:
        """Ask the holder to confirm the address."""
        return page(request, "contacts/confirm.html", token=token)

    @post("/confirm/{token:str}", name="contacts.confirm_use")
    async def confirm_use(self, request: Request, token: FromPath[str]) -> Template:
        """Confirm: from now on the clinic writes to this address."""
        row = await changes.confirm_link(token)
        return page(request, "contacts/confirmed.html", status=200 if row else 410, confirmed=row is not None)

    @get("/report/{token:str}", name="contacts.report")
    async def report(self, request: Request, token: FromPath[str]) -> Template:
        """Ask the previous holder whether to report the change."""
        return page(request, "contacts/report.html", token=token)

    @post("/report/{token:str}", name="contacts.report_use")
    async def report_use(self, request: Request, token: FromPath[str]) -> Template:
        """Report it: the change is undone and the clinic sees it on the patient's page."""
        row = await changes.report(token)
        return page(request, "contacts/reported.html", status=200 if row else 410, reported=row is not None)


class OwnCodeController(Controller):
    """Privacy centre: the patient types the code their new mobile number received."""

    path = "/privacy/me/contact/code"
    exception_handlers = {PatientSignInRequired: _to_sign_in}

    @post("/{change_id:int}", name="contacts.own_code", guards=[patient_signed_in])
    async def own_code(self, request: Request, change_id: FromPath[int]) -> Template | Redirect:
        """Confirm the new mobile number with its code."""
        me = request.state.patient
        form = await read_form(request, changes.CodeForm)
        try:
            await changes.confirm_code(me, me.patient_id, change_id, form)
        except ValidationFailed as exc:
            return page(request, "contacts/own_code.html", status=422, errors=exc.errors, change_id=change_id)
        return see_other(request.app.route_reverse("privacy.contact"))
