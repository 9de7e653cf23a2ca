"""Signed clinical notes of one patient and their amendments."""

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.charts import chart, clinical_notes
from portal.errors import ValidationFailed
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other


class NoteController(Controller):
    path = "/patients/{patient_id:int}/notes"
    guards = [signed_in, requires(Permission.READ_CLINICAL)]
    dependencies = {"actor": provide_actor}

    @get("/", name="notes.list")
    async def index(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                    before: FromQuery[int | None] = None) -> Template:
        """Signed notes newest first, amendments under their original; older ones page by page."""
        notes, more = await clinical_notes.list_notes(actor, patient_id, before=before)
        return render(request, "notes/list.html", patient=await chart.header(actor, patient_id), notes=notes,
                      more=more, template_names=clinical_notes.TEMPLATE_NAMES)

    async def _form(self, request: Request, actor, patient_id: int, form: clinical_notes.NoteForm, errors: dict,
                    status: int = 200) -> Template:
        return render(request, "notes/form.html", status=status, patient=await chart.header(actor, patient_id),
                      form=form, errors=errors, visits=await clinical_notes.visits(actor, patient_id),
                      templates={k: name for k, (name, _) in clinical_notes.TEMPLATES.items()})

    @get("/new", name="notes.new", guards=[requires(Permission.WRITE_CLINICAL)])
    async def new(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                  template: FromQuery[str] = "exam") -> Template:
        """A note started from a template."""
        template = template if template in clinical_notes.TEMPLATES else "exam"
        form = clinical_notes.NoteForm(template=template, body=str(clinical_notes.TEMPLATES[template][1]))
        return await self._form(request, actor, patient_id, form, {})

    @post("/", name="notes.create", guards=[requires(Permission.WRITE_CLINICAL)])
    async def create(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Redirect:
        """Sign and store the note (it cannot be edited afterwards)."""
        form = await read_form(request, clinical_notes.NoteForm)
        try:
            await clinical_notes.write_note(actor, patient_id, form)
        except ValidationFailed as exc:
            return await self._form(request, actor, patient_id, form, exc.errors, 422)
        return see_other(request.app.route_reverse("notes.list", patient_id=patient_id))

    async def _amend_form(self, request: Request, actor, patient_id: int, note_id: int,
                          form: clinical_notes.AmendmentForm, errors: dict, status: int = 200) -> Template:
        return render(request, "notes/amend.html", status=status, patient=await chart.header(actor, patient_id),
                      note=await clinical_notes.get_note(actor, patient_id, note_id), form=form, errors=errors,
                      template_names=clinical_notes.TEMPLATE_NAMES)

    @get("/{note_id:int}/amend", name="notes.amend_form", guards=[requires(Permission.WRITE_CLINICAL)])
    async def amend_form(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                         note_id: FromPath[int]) -> Template:
        """The original beside the form for its correction."""
        return await self._amend_form(request, actor, patient_id, note_id, clinical_notes.AmendmentForm(), {})

    @post("/{note_id:int}/amendments", name="notes.amend", guards=[requires(Permission.WRITE_CLINICAL)])
    async def amend(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                    note_id: FromPath[int]) -> Template | Redirect:
        """Sign a correction referencing the original."""
        form = await read_form(request, clinical_notes.AmendmentForm)
        try:
            await clinical_notes.amend_note(actor, patient_id, note_id, form)
        except ValidationFailed as exc:
            return await self._amend_form(request, actor, patient_id, note_id, form, exc.errors, 422)
        return see_other(request.app.route_reverse("notes.list", patient_id=patient_id))
