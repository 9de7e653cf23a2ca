"""Treatment plans of one patient: phases, items, acceptance, decline and completion."""

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from portal.charts import chart, fee_schedule, plan_document, treatment_plans
from portal.errors import ValidationFailed
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other

PLAN_CHOICES = {"methods": treatment_plans.METHODS, "signer_roles": treatment_plans.SIGNER_ROLES}


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

    @get("/{plan_id:int}/pdf", name="plans.pdf")
    async def pdf(self, actor: CurrentActor, patient_id: FromPath[int], plan_id: FromPath[int]) -> Response:
        """The plan as a PDF, with every acceptance and its drawn signature."""
        name, data = await plan_document.plan_pdf(actor, patient_id, plan_id)
        return Response(data, media_type="application/pdf", headers={
            "Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="{name}"'})

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
