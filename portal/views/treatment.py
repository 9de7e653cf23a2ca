"""Treatment plans and clinical notes of one patient."""

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.charts import chart, clinical_notes, fee_schedule, treatment_plans
from portal.errors import ValidationFailed
from portal.permissions import Permission
from portal.views.web import CurrentActor, provide_actor, read_form, render, requires, see_other, signed_in

PLAN_CHOICES = {"statuses": treatment_plans.STATUSES, "methods": treatment_plans.METHODS}


class PlanController(Controller):
    path = "/patients/{patient_id:int}/plans"
    guards = [signed_in, requires(Permission.READ_CLINICAL)]
    dependencies = {"actor": provide_actor}

    async def _list(self, request: Request, actor, patient_id: int, form: treatment_plans.PlanForm, errors: dict,
                    status: int = 200) -> Template:
        return render(request, "plans/list.html", status=status, patient=await chart.header(actor, patient_id),
                      plans=await treatment_plans.list_plans(actor, patient_id), form=form, errors=errors,
                      **PLAN_CHOICES)

    async def _plan(self, request: Request, actor, patient_id: int, plan_id: int, errors: dict | None = None,
                    item_form=None, acceptance_form=None, status: int = 200) -> Template:
        return render(request, "plans/show.html", status=status, patient=await chart.header(actor, patient_id),
                      plan=await treatment_plans.get_plan(actor, patient_id, plan_id),
                      codes=await fee_schedule.list_codes(actor, active_only=True), errors=errors or {},
                      numbering=await chart.numbering(actor.clinic_id),
                      item_form=item_form or treatment_plans.ItemForm(),
                      acceptance_form=acceptance_form or treatment_plans.AcceptanceForm(), **PLAN_CHOICES)

    @get("/", name="plans.list")
    async def index(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """The patient's plans with their totals."""
        return await self._list(request, actor, patient_id, treatment_plans.PlanForm(), {})

    @post("/", name="plans.create", guards=[requires(Permission.WRITE_CLINICAL)])
    async def create(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Redirect:
        """Start a proposed plan."""
        form = await read_form(request, treatment_plans.PlanForm)
        try:
            plan_id = await treatment_plans.create_plan(actor, patient_id, form)
        except ValidationFailed as exc:
            return await self._list(request, actor, patient_id, form, exc.errors, 422)
        return see_other(request.app.route_reverse("plans.show", patient_id=patient_id, plan_id=plan_id))

    @get("/{plan_id:int}", name="plans.show")
    async def show(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                   plan_id: FromPath[int]) -> Template:
        """A plan by phase, with totals, acceptance and completion."""
        return await self._plan(request, actor, patient_id, plan_id)

    @post("/{plan_id:int}/items", name="plans.add_item", guards=[requires(Permission.WRITE_CLINICAL)])
    async def add_item(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                       plan_id: FromPath[int]) -> Template | Redirect:
        """Plan a procedure from the fee schedule."""
        form = await read_form(request, treatment_plans.ItemForm)
        try:
            await treatment_plans.add_item(actor, patient_id, plan_id, form)
        except ValidationFailed as exc:
            return await self._plan(request, actor, patient_id, plan_id, exc.errors, item_form=form, status=422)
        return see_other(request.app.route_reverse("plans.show", patient_id=patient_id, plan_id=plan_id))

    @post("/{plan_id:int}/accept", name="plans.accept", guards=[requires(Permission.WRITE_CLINICAL)])
    async def accept(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                     plan_id: FromPath[int]) -> Template | Redirect:
        """Record the patient's acceptance of this version."""
        form = await read_form(request, treatment_plans.AcceptanceForm)
        try:
            await treatment_plans.accept(actor, patient_id, plan_id, form)
        except ValidationFailed as exc:
            return await self._plan(request, actor, patient_id, plan_id, exc.errors, acceptance_form=form,
                                    status=422)
        return see_other(request.app.route_reverse("plans.show", patient_id=patient_id, plan_id=plan_id))

    @post("/{plan_id:int}/decline", name="plans.decline", guards=[requires(Permission.WRITE_CLINICAL)])
    async def decline(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                      plan_id: FromPath[int]) -> Template | Redirect:
        """The patient declined the plan."""
        try:
            await treatment_plans.decline(actor, patient_id, plan_id)
        except ValidationFailed as exc:
            return await self._plan(request, actor, patient_id, plan_id, exc.errors, status=422)
        return see_other(request.app.route_reverse("plans.show", patient_id=patient_id, plan_id=plan_id))

    @post("/{plan_id:int}/items/{item_id:int}/complete", name="plans.complete_item",
          guards=[requires(Permission.WRITE_CLINICAL)])
    async def complete(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                       plan_id: FromPath[int], item_id: FromPath[int]) -> Template | Redirect:
        """Mark a procedure done (charts it and writes a signed entry)."""
        try:
            await treatment_plans.complete_item(actor, patient_id, plan_id, item_id)
        except ValidationFailed as exc:
            return await self._plan(request, actor, patient_id, plan_id, exc.errors, status=422)
        return see_other(request.app.route_reverse("plans.show", patient_id=patient_id, plan_id=plan_id))


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
        form = clinical_notes.NoteForm(template=template, body=clinical_notes.TEMPLATES[template][1])
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
