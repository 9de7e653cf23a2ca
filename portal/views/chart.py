"""The patient chart: overview, tooth chart (SVG, htmx tooth panel), printable chart, medical history, alerts."""

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.charts import chart, medical_history, odontogram, teeth
from portal.errors import ValidationFailed
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other, wants_fragment

FINDING_CHOICES = {"kinds": odontogram.KINDS, "states": odontogram.STATES, "materials": odontogram.MATERIALS}
HISTORY_CHOICES = {"smoking": medical_history.SMOKING, "pregnancy": medical_history.PREGNANCY}


async def _tooth_panel(request: Request, actor, patient_id: int, tooth: int, form: odontogram.FindingForm,
                       errors: dict, status: int = 200, with_chart: bool = False) -> Template:
    history = await odontogram.tooth_history(actor, patient_id, tooth)  # NotFound for a foreign patient or no tooth
    context = {"patient_id": patient_id, "tooth": tooth, "tooth_label": teeth.label(tooth, await chart.numbering(
        actor.clinic_id)), "surface_names": teeth.surface_names(tooth), "form": form, "errors": errors,
               "history": history, **FINDING_CHOICES}
    if with_chart or not wants_fragment(request):
        context["patient"] = await chart.header(actor, patient_id)
        context["chart"] = await chart.tooth_chart(actor, patient_id, context["patient"])
    fragment = "chart/_chart_with_panel.html" if with_chart else "chart/_tooth_panel.html"
    return render(request, "chart/tooth_page.html", fragment, status=status, **context)


class ChartController(Controller):
    path = "/patients/{patient_id:int}"
    guards = [signed_in]
    dependencies = {"actor": provide_actor}

    @get("/chart", name="chart.show", guards=[requires(Permission.READ_CLINICAL)])
    async def show(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """The chart overview a dentist opens for every patient."""
        return render(request, "chart/show.html", **await chart.chart_page(actor, patient_id))

    @get("/chart/teeth", name="chart.teeth", guards=[requires(Permission.READ_CLINICAL)])
    async def teeth_fragment(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """The tooth chart alone (htmx refresh; a page of its own without htmx)."""
        if wants_fragment(request):
            patient = {"id": patient_id}
            drawing = await chart.tooth_chart(actor, patient_id)  # NotFound for a foreign or isolated patient
        else:
            patient = await chart.header(actor, patient_id)
            drawing = await chart.tooth_chart(actor, patient_id, patient)
        return render(request, "chart/teeth_page.html", "chart/_teeth.html", patient=patient, chart=drawing)

    @get("/chart/print", name="chart.print", guards=[requires(Permission.READ_CLINICAL)])
    async def printable(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """A printable chart: drawing, findings list and open plans, no navigation."""
        return render(request, "chart/print.html", **await chart.chart_page(actor, patient_id))

    @get("/chart/teeth/{tooth:int}", name="chart.tooth", guards=[requires(Permission.READ_CLINICAL)])
    async def tooth(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                    tooth: FromPath[int]) -> Template:
        """One tooth: the form to record a finding and the tooth's history."""
        return await _tooth_panel(request, actor, patient_id, tooth, odontogram.FindingForm(), {})

    @post("/chart/teeth/{tooth:int}/findings", name="chart.add_finding",
          guards=[requires(Permission.WRITE_CLINICAL)])
    async def add_finding(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                          tooth: FromPath[int]) -> Template | Redirect:
        """Record a finding; htmx gets the redrawn chart with the tooth's panel."""
        form = await read_form(request, odontogram.FindingForm)
        try:
            await odontogram.record_finding(actor, patient_id, tooth, form)
        except ValidationFailed as exc:
            # the form's hx-target is #chart-area: a refusal redraws it too, with the form and its messages
            return await _tooth_panel(request, actor, patient_id, tooth, form, exc.errors, 422, with_chart=True)
        if not getattr(request, "htmx", None):
            return see_other(request.app.route_reverse("chart.tooth", patient_id=patient_id, tooth=tooth))
        return await _tooth_panel(request, actor, patient_id, tooth, odontogram.FindingForm(), {}, with_chart=True)

    @get("/history", name="history.show", guards=[requires(Permission.READ_CLINICAL)])
    async def history(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """The newest medical history version and the list of older ones."""
        return await self._history_page(request, actor, patient_id, None)

    @get("/history/{version:int}", name="history.version", guards=[requires(Permission.READ_CLINICAL)])
    async def history_version(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                              version: FromPath[int]) -> Template:
        """An older version, read-only."""
        return await self._history_page(request, actor, patient_id, version)

    async def _history_page(self, request: Request, actor, patient_id: int, version: int | None) -> Template:
        return render(request, "chart/history.html", patient=await chart.header(actor, patient_id),
                      current=await medical_history.get_version(actor, patient_id, version),
                      versions=await medical_history.versions(actor, patient_id),
                      alert_form=medical_history.AlertForm(),
                      errors={}, **HISTORY_CHOICES)

    @get("/history/edit", name="history.edit", guards=[requires(Permission.WRITE_CLINICAL)])
    async def edit_history(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """The history form, filled from the newest version (saving makes a new one)."""
        latest = await medical_history.get_version(actor, patient_id)
        return self._history_form(request, await chart.header(actor, patient_id),
                                  medical_history.form_from_version(latest), {})

    def _history_form(self, request: Request, patient: dict, form, errors: dict, status: int = 200) -> Template:
        return render(request, "chart/history_form.html", status=status, patient=patient, form=form, errors=errors,
                      **HISTORY_CHOICES)

    @post("/history", name="history.save", guards=[requires(Permission.WRITE_CLINICAL)])
    async def save_history(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]
                           ) -> Template | Redirect:
        """Store a new version."""
        form = await read_form(request, medical_history.HistoryForm)
        try:
            await medical_history.save_history(actor, patient_id, form)
        except ValidationFailed as exc:
            return self._history_form(request, await chart.header(actor, patient_id), form, exc.errors, 422)
        return see_other(request.app.route_reverse("history.show", patient_id=patient_id))

    @post("/alerts", name="alerts.add", guards=[requires(Permission.WRITE_CLINICAL)])
    async def add_alert(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Redirect:
        """An alert added by hand (e.g. needle phobia, difficult airway)."""
        form = await read_form(request, medical_history.AlertForm)
        try:
            await medical_history.add_alert(actor, patient_id, form)
        except ValidationFailed as exc:
            return render(request, "chart/history.html", status=422, patient=await chart.header(actor, patient_id),
                          current=await medical_history.get_version(actor, patient_id),
                          versions=await medical_history.versions(actor, patient_id), alert_form=form,
                          errors=exc.errors, **HISTORY_CHOICES)
        return see_other(request.app.route_reverse("history.show", patient_id=patient_id))

    @post("/alerts/{alert_id:int}/resolve", name="alerts.resolve", guards=[requires(Permission.WRITE_CLINICAL)])
    async def resolve_alert(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                            alert_id: FromPath[int]) -> Redirect:
        """An alert no longer applies."""
        await medical_history.resolve_alert(actor, patient_id, alert_id)
        return see_other(request.app.route_reverse("history.show", patient_id=patient_id))
