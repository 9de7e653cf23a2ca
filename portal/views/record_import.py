"""The owner's import of a patient record exported by another Chairside clinic (the patient hands over the ZIP)."""

from litestar import Controller, Request, Router, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template

from portal.errors import ValidationFailed
from portal.i18n import gettext
from portal.permissions import Permission
from portal.privacy import record_import
from portal.request_limits import DEFAULT_MAX_BODY
from portal.settings import Settings
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import render, see_other

# The ZIP carries the patient's images: as large a body as an upload of a few full-size images.
IMAGES_IN_AN_EXPORT = 4


class RecordImportController(Controller):
    path = "/patients/import"
    guards = [signed_in, requires(Permission.MANAGE_CLINIC)]
    dependencies = {"actor": provide_actor}

    def _page(self, request: Request, errors: dict | None = None, status: int = 200) -> Template:
        settings = request.app.state.settings
        return render(request, "record_import/start.html", status=status, errors=errors or {},
                      max_mb=settings.image_max_bytes * IMAGES_IN_AN_EXPORT // 2**20)

    @get("/", name="record_import.start")
    async def start(self, request: Request, actor: CurrentActor) -> Template:
        """The upload form: an export ZIP from another Chairside clinic."""
        return self._page(request)

    @post("/", name="record_import.upload")
    async def upload(self, request: Request, actor: CurrentActor) -> Template:
        """Check the whole file and show who made it (its signature) and what it holds; nothing is imported yet.
        Refusals stand beside the field. The answer stays on the form's own URL, so reload and Back work."""
        upload = (await request.form()).get(record_import.FIELD)
        if not isinstance(upload, UploadFile) or not upload.filename:
            return self._page(request, {record_import.FIELD: gettext("Choose the export's ZIP file.")}, 422)
        settings = request.app.state.settings
        try:
            preview = await record_import.stage(actor, await upload.read(), settings.image_max_bytes)
        except ValidationFailed as exc:
            return self._page(request, exc.errors, 422)
        return render(request, "record_import/check.html", preview=preview)

    @post("/confirm", name="record_import.confirm", request_max_body_size=DEFAULT_MAX_BODY)  # a small form, no file
    async def confirm(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """The owner saw the check and imports: the same file, checked again, becomes the patient's record."""
        upload_id = str((await request.form()).get("upload", ""))
        settings = request.app.state.settings
        try:
            imported = await record_import.import_staged(actor, int(upload_id) if upload_id.isdigit() else 0,
                                                         settings.image_max_bytes)
        except ValidationFailed as exc:
            return self._page(request, exc.errors, 422)
        return see_other(request.app.route_reverse("patients.show", patient_id=imported.patient_id))


def record_import_routes(settings: Settings) -> Router:
    """The import under a request-size limit that follows the image upload limit (IMAGE_MAX_MB)."""
    return Router(path="/", route_handlers=[RecordImportController],
                  request_max_body_size=settings.image_max_bytes * IMAGES_IN_AN_EXPORT + 2**20)
