"""Patient images: gallery with upload, viewer, and the byte routes (original, display render, thumbnail)."""

from litestar import Controller, Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Template

from portal.errors import ValidationFailed
from portal.imaging import images as imaging
from portal.permissions import Permission
from portal.settings import Settings
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other

# A batch from a tablet may carry several full-size files; past this the whole request is refused (413).
BATCH_OF_FULL_SIZE_FILES = 4


async def _uploaded_files(request: Request, max_bytes: int) -> list[imaging.UploadedFile]:
    """Files from the `files` field, each read to one byte past the limit (enough to know it is too large)."""
    posted = await request.form()
    files = []
    for part in posted.getall("files", []):
        if isinstance(part, UploadFile) and part.filename:
            files.append(imaging.UploadedFile(part.filename, await part.read(max_bytes + 1)))
            await part.close()
    return files


def _gallery(request: Request, patient: dict, rows: list[dict], kind: str, form: imaging.UploadForm,
             errors: dict, status: int = 200, uploaded: int = 0) -> Template:
    return render(request, "imaging/gallery.html", "imaging/_grid.html", status=status, patient=patient,
                  images=rows, kind=kind, form=form, errors=errors, uploaded=uploaded, kinds=imaging.KINDS,
                  kind_choices=imaging.KIND_CHOICES,
                  max_mb=request.app.state.settings.image_max_bytes // 2**20)


def _bytes_response(item: imaging.ImageBytes) -> Response:
    disposition = "inline" if item.inline else "attachment"
    return Response(content=item.data, media_type=item.content_type, headers={
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'{disposition}; filename="{item.filename}"',
    })


class ImagingController(Controller):
    path = "/patients/{patient_id:int}/images"
    guards = [signed_in, requires(Permission.READ_IMAGES)]
    dependencies = {"actor": provide_actor}

    @get("/", name="images.gallery")
    async def gallery(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                      kind: FromQuery[str] = "", uploaded: FromQuery[int] = 0) -> Template:
        """Thumbnails, newest first, with a kind filter (htmx swaps the grid) and the upload form."""
        patient, rows = await imaging.list_images(actor, patient_id, kind)
        return _gallery(request, patient, rows, kind, imaging.UploadForm(), {},
                        uploaded=min(max(uploaded, 0), imaging.MAX_FILES))

    @post("/", name="images.upload", guards=[requires(Permission.WRITE_CLINICAL)])
    async def upload(self, request: Request, actor: CurrentActor,
                     patient_id: FromPath[int]) -> Template | Redirect:
        """Upload one or more files; all are stored or none."""
        max_bytes = request.app.state.settings.image_max_bytes
        form = await read_form(request, imaging.UploadForm)
        try:
            files = await _uploaded_files(request, max_bytes)
            ids = await imaging.upload_images(actor, patient_id, form, files, max_bytes)
        except ValidationFailed as exc:
            patient, rows = await imaging.list_images(actor, patient_id)
            return _gallery(request, patient, rows, "", form, exc.errors, status=422)
        gallery = request.app.route_reverse("images.gallery", patient_id=patient_id)
        return see_other(f"{gallery}?uploaded={len(ids)}")

    @get("/{image_id:int}", name="images.show")
    async def show(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                   image_id: FromPath[int]) -> Template | ClientRedirect:
        """The viewer: zoom and pan for pictures and X-rays, a 3D preview for STL scans."""
        if request.htmx and request.htmx.boosted:
            # htmx runs no script it swaps in, and the viewer is mostly script: load it as a whole page.
            return ClientRedirect(request.url.path)
        patient, image = await imaging.get_image(actor, patient_id, image_id)
        return render(request, "imaging/show.html", patient=patient, image=image, kinds=imaging.KINDS)

    @get("/{image_id:int}/file", name="images.file")
    async def original(self, actor: CurrentActor, patient_id: FromPath[int],
                       image_id: FromPath[int]) -> Response:
        """The stored file (EXIF-free for pictures; DICOM and STL as uploaded, as a download)."""
        return _bytes_response(await imaging.read_image(actor, patient_id, image_id, "original"))

    @get("/{image_id:int}/display", name="images.display")
    async def display(self, actor: CurrentActor, patient_id: FromPath[int],
                      image_id: FromPath[int]) -> Response:
        """What the viewer shows: a DICOM's windowed PNG render, or the picture itself."""
        return _bytes_response(await imaging.read_image(actor, patient_id, image_id, "display"))

    @get("/{image_id:int}/thumbnail", name="images.thumbnail")
    async def thumbnail(self, actor: CurrentActor, patient_id: FromPath[int],
                        image_id: FromPath[int]) -> Response:
        """The small JPEG for the gallery."""
        return _bytes_response(await imaging.read_image(actor, patient_id, image_id, "thumbnail"))


def imaging_routes(settings: Settings) -> Router:
    """The imaging controller under a request-size limit from the settings (the app default is 10 MB)."""
    return Router(path="/", route_handlers=[ImagingController],
                  request_max_body_size=settings.image_max_bytes * BATCH_OF_FULL_SIZE_FILES + 2**20)
