"""The owner's money reports: production, collections and aging as a chart, a table and a CSV download."""

from litestar import Controller, Request, Response, get
from litestar.params import FromQuery
from litestar.response import Template

from portal.billing import reports
from portal.errors import ValidationFailed
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import render


class BillingReportsController(Controller):
    path = "/reports/money"
    guards = [signed_in, requires(Permission.VIEW_REPORTS)]
    dependencies = {"actor": provide_actor}

    @get("/", name="billing_reports.show")
    async def show(self, request: Request, actor: CurrentActor, report: FromQuery[str] = "production_month",
                   start: FromQuery[str] = "", end: FromQuery[str] = "") -> Template:
        """One report over a date range: chart, table, CSV link."""
        try:
            result = await reports.report(actor, report, start, end)
        except ValidationFailed as exc:
            return render(request, "billing_reports/show.html", status=422, result=None, errors=exc.errors,
                          report=report, start=start, end=end, reports=reports.REPORTS)
        return render(request, "billing_reports/show.html", result=result, errors={}, report=report,
                      start=result["period"].start.isoformat(), end=result["period"].end.isoformat(),
                      reports=reports.REPORTS)

    @get("/export.csv", name="billing_reports.csv")
    async def export(self, actor: CurrentActor, report: FromQuery[str] = "production_month",
                     start: FromQuery[str] = "", end: FromQuery[str] = "") -> Response:
        """The same report as CSV."""
        result = await reports.report(actor, report, start, end)
        return Response(content=reports.as_csv(result), media_type="text/csv; charset=utf-8", headers={
            "Cache-Control": "private, no-store", "Content-Disposition": f'attachment; filename="{report}.csv"'})
