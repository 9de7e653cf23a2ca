"""The owner's audit page: filter by person, patient and date; export as CSV."""

from litestar import Controller, Request, Response, get
from litestar.params import FromQuery
from litestar.response import Template

from portal import audit
from portal.forms import parse_date, whole_number
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import render


def _filters(staff_id: str, patient_id: str, date_from: str, date_to: str) -> audit.AuditFilter:
    """Unparseable filter values are ignored rather than refused: this is a search form."""
    return audit.AuditFilter(staff_id=whole_number(staff_id), patient_id=whole_number(patient_id),
                             date_from=parse_date(date_from), date_to=parse_date(date_to))


class AuditController(Controller):
    path = "/audit"
    guards = [signed_in, requires(Permission.VIEW_AUDIT)]
    dependencies = {"actor": provide_actor}

    @get("/", name="audit.list")
    async def index(self, request: Request, actor: CurrentActor, staff_id: FromQuery[str] = "",
                    patient_id: FromQuery[str] = "",
                    date_from: FromQuery[str] = "", date_to: FromQuery[str] = "") -> Template:
        """Who read or changed what, newest first."""
        filters = _filters(staff_id, patient_id, date_from, date_to)
        htmx = getattr(request, "htmx", None)
        # The chain is checked for the full page only; a filter swap replaces the rows and nothing else.
        chain = None if htmx and not htmx.boosted else await audit.chain_status(actor)
        return render(request, "audit/list.html", "audit/_rows.html",
                      rows=await audit.list_entries(actor, filters), staff=await audit.staff_choices(actor),
                      filters=filters, query=request.url.query, chain=chain)

    @get("/export.csv", name="audit.export")
    async def export(self, actor: CurrentActor, staff_id: FromQuery[str] = "", patient_id: FromQuery[str] = "",
                     date_from: FromQuery[str] = "",
                     date_to: FromQuery[str] = "") -> Response:
        """The filtered trail as CSV."""
        body = await audit.export_csv(actor, _filters(staff_id, patient_id, date_from, date_to))
        return Response(content=body, media_type="text/csv",  # Litestar adds "; charset=utf-8" to text types
                        headers={"Content-Disposition": 'attachment; filename="audit.csv"'})
