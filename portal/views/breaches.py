"""The owner's breach register (GDPR Art. 33/34): record an incident, watch the 72-hour clock, tell the
authority and, when the risk is high, the patients; export the register."""

import dataclasses

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.errors import ValidationFailed
from portal.permissions import Permission
from portal.privacy import breaches
from portal.privacy.registry import all_categories
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other


class BreachController(Controller):
    path = "/breaches"
    guards = [signed_in, requires(Permission.MANAGE_CLINIC)]
    dependencies = {"actor": provide_actor}

    async def _list(self, request: Request, actor, form=None, errors=None, status: int = 200) -> Template:
        return render(request, "breaches/list.html", status=status, rows=await breaches.register(actor),
                      form=form or breaches.BreachForm(), errors=errors or {}, categories=all_categories())

    @get("/", name="breaches.list")
    async def index(self, request: Request, actor: CurrentActor) -> Template:
        """Every recorded breach with its clock, and the form to record one."""
        return await self._list(request, actor)

    @post("/", name="breaches.record")
    async def record(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """Record a breach; the affected patients are found from the audit trail of its window."""
        form = await read_form(request, breaches.BreachForm)
        form = dataclasses.replace(form, categories=tuple((await request.form()).getall("categories", [])))
        try:
            breach_id = await breaches.record(actor, form)
        except ValidationFailed as exc:
            return await self._list(request, actor, form, exc.errors, 422)
        return see_other(request.app.route_reverse("breaches.show", breach_id=breach_id))

    async def _show(self, request: Request, actor, breach_id: int, errors=None, status: int = 200) -> Template:
        return render(request, "breaches/show.html", status=status, row=await breaches.get(actor, breach_id),
                      errors=errors or {})

    @get("/{breach_id:int}", name="breaches.show")
    async def show(self, request: Request, actor: CurrentActor, breach_id: FromPath[int]) -> Template:
        """One breach: its clock, the patients affected, and the next steps."""
        return await self._show(request, actor, breach_id)

    @post("/{breach_id:int}/authority", name="breaches.authority")
    async def authority(self, request: Request, actor: CurrentActor, breach_id: FromPath[int]) -> Template | Redirect:
        """The supervisory authority has been told (with its reference): the clock stops."""
        try:
            await breaches.authority_told(actor, breach_id, await read_form(request, breaches.AuthorityForm))
        except ValidationFailed as exc:
            return await self._show(request, actor, breach_id, exc.errors, 422)
        return see_other(request.app.route_reverse("breaches.show", breach_id=breach_id))

    @post("/{breach_id:int}/notify", name="breaches.notify")
    async def notify(self, request: Request, actor: CurrentActor, breach_id: FromPath[int]) -> Template | Redirect:
        """Tell the affected patients (high risk only), each in their language, through the outbox."""
        try:
            await breaches.tell_patients(actor, breach_id)
        except ValidationFailed as exc:
            return await self._show(request, actor, breach_id, exc.errors, 422)
        return see_other(request.app.route_reverse("breaches.show", breach_id=breach_id))

    @get("/export.csv", name="breaches.export")
    async def export(self, request: Request, actor: CurrentActor) -> Response:
        """The register as CSV (counts of patients, no identifiers)."""
        return Response(content=await breaches.export_csv(actor), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="breach-register.csv"'})
