"""A clinic's published export keys, for anyone: the page and JSON a receiving clinic compares fingerprints with."""

from litestar import Controller, Request, Response, get
from litestar.params import FromPath
from litestar.response import Template

from portal.privacy import export_signing


class ExportKeysController(Controller):
    path = "/export-keys"

    @get("/{clinic_id:int}", name="export_keys.show")
    async def show(self, request: Request, clinic_id: FromPath[int]) -> Template:
        """Signed out: the clinic's keys with their fingerprints, and how to compare them."""
        published = await export_signing.published_keys(request.app.state.settings, clinic_id)
        return Template(template_name="export_keys/show.html", context={
            "actor": None, "published": published, "time_zone": published["time_zone"],
            "json_url": export_signing.keys_url(request.app.state.settings, clinic_id) + "/keys.json"})

    @get("/{clinic_id:int}/keys.json", name="export_keys.json")
    async def keys_json(self, request: Request, clinic_id: FromPath[int]) -> Response:
        """The same keys for machines (absolute URLs from PUBLIC_URL only)."""
        return Response(content=await export_signing.published_keys(request.app.state.settings, clinic_id),
                        media_type="application/json")
