"""Patients: list, typeahead search, create, view, edit, guardians."""

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal import patients
from portal.errors import ValidationFailed
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other

CHOICES = {"genders": patients.GENDERS, "languages": patients.LANGUAGES, "countries": patients.COUNTRIES}


def _form_page(request: Request, form: patients.PatientForm, patient_id: int | None, errors: dict,
               status: int = 200) -> Template:
    return render(request, "patients/form.html", status=status, form=form, patient_id=patient_id, errors=errors,
                  **CHOICES)


class PatientController(Controller):
    path = "/patients"
    guards = [signed_in, requires(Permission.READ_DEMOGRAPHICS)]
    dependencies = {"actor": provide_actor}

    @get("/", name="patients.list")
    async def index(self, request: Request, actor: CurrentActor, page: FromQuery[int] = 1) -> Template:
        """Patients by family name, with the typeahead search above."""
        rows, more = await patients.list_patients(actor, page)
        return render(request, "patients/list.html", rows=rows, page=page, more=more, q="")

    @get("/search", name="patients.search")
    async def search(self, request: Request, actor: CurrentActor, q: FromQuery[str] = "") -> Template:
        """Typeahead results (a fragment for htmx, the list page otherwise)."""
        if len(q.strip()) < 2:
            rows, more = await patients.list_patients(actor)
        else:
            rows, more = await patients.search_patients(actor, q), False
        return render(request, "patients/list.html", "patients/_results.html", rows=rows, page=1, more=more,
                      q=q)

    @get("/new", name="patients.new", guards=[requires(Permission.EDIT_DEMOGRAPHICS)])
    async def new(self, request: Request, actor: CurrentActor) -> Template:
        """Form for a new patient."""
        return _form_page(request, patients.PatientForm(), None, {})

    @post("/", name="patients.create", guards=[requires(Permission.EDIT_DEMOGRAPHICS)])
    async def create(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """Register a patient."""
        form = await read_form(request, patients.PatientForm)
        try:
            patient_id = await patients.create_patient(actor, form)
        except ValidationFailed as exc:
            return _form_page(request, form, None, exc.errors, 422)
        return see_other(request.app.route_reverse("patients.show", patient_id=patient_id))

    @get("/{patient_id:int}", name="patients.show")
    async def show(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """One patient's record."""
        return _record_page(request, await patients.get_patient(actor, patient_id), patients.GuardianForm(), {})

    @get("/{patient_id:int}/edit", name="patients.edit", guards=[requires(Permission.EDIT_DEMOGRAPHICS)])
    async def edit(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """Edit demographics."""
        row = await patients.get_patient(actor, patient_id, purpose="opened_for_edit")
        return _form_page(request, patients.form_from_record(row), patient_id, {})

    @post("/{patient_id:int}", name="patients.update", guards=[requires(Permission.EDIT_DEMOGRAPHICS)])
    async def update(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Redirect:
        """Save demographics."""
        form = await read_form(request, patients.PatientForm)
        try:
            await patients.update_patient(actor, patient_id, form)
        except ValidationFailed as exc:
            return _form_page(request, form, patient_id, exc.errors, 422)
        return see_other(request.app.route_reverse("patients.show", patient_id=patient_id))

    @post("/{patient_id:int}/guardians", name="guardians.add", guards=[requires(Permission.EDIT_DEMOGRAPHICS)])
    async def add_guardian(self, request: Request, actor: CurrentActor,
                           patient_id: FromPath[int]) -> Template | Redirect:
        """Add a guardian (parent or legal representative)."""
        form = await read_form(request, patients.GuardianForm)
        try:
            await patients.add_guardian(actor, patient_id, form)
        except ValidationFailed as exc:
            return _record_page(request, await patients.get_patient(actor, patient_id), form, exc.errors, 422)
        return see_other(request.app.route_reverse("patients.show", patient_id=patient_id))

    @post("/{patient_id:int}/guardians/{guardian_id:int}/remove", name="guardians.remove",
          guards=[requires(Permission.EDIT_DEMOGRAPHICS)])
    async def remove_guardian(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                              guardian_id: FromPath[int]) -> Redirect:
        """Remove a guardian."""
        await patients.remove_guardian(actor, patient_id, guardian_id)
        return see_other(request.app.route_reverse("patients.show", patient_id=patient_id))


def _record_page(request: Request, patient: dict, guardian_form: patients.GuardianForm, errors: dict,
                 status: int = 200) -> Template:
    return render(request, "patients/show.html", status=status, patient=patient, guardian_form=guardian_form,
                  errors=errors, **CHOICES)
