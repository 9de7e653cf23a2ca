"""Owner set-up for the clinical side: tooth numbering, currency and the fee schedule."""

from dataclasses import dataclass

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.charts import clinical_setup, fee_schedule, odontogram
from portal.errors import ValidationFailed
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other


@dataclass(frozen=True)
class _Forms:
    """The page's two forms as last posted (None: fresh from the database)."""

    code: fee_schedule.ProcedureForm | None = None
    chart: clinical_setup.ChartSettingsForm | None = None


class ClinicalSetupController(Controller):
    path = "/settings/clinical"
    guards = [signed_in, requires(Permission.MANAGE_CLINIC)]
    dependencies = {"actor": provide_actor}

    async def _page(self, request: Request, actor, forms: _Forms = _Forms(), errors: dict | None = None,
                    status: int = 200) -> Template:
        return render(request, "clinical_settings/index.html", status=status,
                      codes=await fee_schedule.list_codes(actor), form=forms.code or fee_schedule.ProcedureForm(),
                      chart_form=forms.chart or await clinical_setup.current(actor), errors=errors or {},
                      charts_as=fee_schedule.CHARTS_AS, materials=odontogram.MATERIALS,
                      numberings=clinical_setup.NUMBERINGS)

    @get("/", name="clinical_setup.show")
    async def show(self, request: Request, actor: CurrentActor) -> Template:
        """Numbering, currency and fee schedule."""
        return await self._page(request, actor)

    @post("/chart", name="clinical_setup.chart")
    async def chart_settings(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """Change the tooth numbering shown and the currency of new plans."""
        form = await read_form(request, clinical_setup.ChartSettingsForm)
        try:
            await clinical_setup.save(actor, form)
        except ValidationFailed as exc:
            return await self._page(request, actor, _Forms(chart=form), exc.errors, 422)
        return see_other(request.app.route_reverse("clinical_setup.show"))

    @post("/fees", name="fees.create")
    async def create(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """Add a procedure code."""
        form = await read_form(request, fee_schedule.ProcedureForm)
        try:
            await fee_schedule.save_code(actor, form)
        except ValidationFailed as exc:
            return await self._page(request, actor, _Forms(code=form), exc.errors, 422)
        return see_other(request.app.route_reverse("clinical_setup.show") + "#fees")

    @get("/fees/{code_id:int}", name="fees.edit")
    async def edit(self, request: Request, actor: CurrentActor, code_id: FromPath[int]) -> Template:
        """One procedure code's form."""
        row = await fee_schedule.get_code(actor, code_id)
        form = fee_schedule.ProcedureForm(code=row["code"], description=row["description"], fee=str(row["fee"]),
                                          charts_as=row["charts_as"], material=row["material"], active=row["active"])
        return self._edit_page(request, code_id, form, {})

    def _edit_page(self, request: Request, code_id: int, form, errors: dict, status: int = 200) -> Template:
        return render(request, "clinical_settings/fee_form.html", status=status, code_id=code_id, form=form,
                      errors=errors, charts_as=fee_schedule.CHARTS_AS, materials=odontogram.MATERIALS)

    @post("/fees/{code_id:int}", name="fees.update")
    async def update(self, request: Request, actor: CurrentActor, code_id: FromPath[int]) -> Template | Redirect:
        """Change a code (plans already made keep the fee they were made with)."""
        form = await read_form(request, fee_schedule.ProcedureForm)
        try:
            await fee_schedule.save_code(actor, form, code_id)
        except ValidationFailed as exc:
            return self._edit_page(request, code_id, form, exc.errors, 422)
        return see_other(request.app.route_reverse("clinical_setup.show") + "#fees")

    @post("/fees/demo", name="fees.load_demo")
    async def load_demo(self, request: Request, actor: CurrentActor) -> Redirect:
        """Add the starter list (only codes the clinic does not have yet)."""
        await fee_schedule.load_demo_schedule(actor)
        return see_other(request.app.route_reverse("clinical_setup.show") + "#fees")
