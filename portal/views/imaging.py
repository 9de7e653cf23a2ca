"""Patient images: gallery with upload, viewer, and the byte routes (original, display render, thumbnail)."""

import asyncio
import tempfile
from contextlib import asynccontextmanager
from hmac import compare_digest
from urllib.parse import parse_qsl

from litestar import Controller, Request, Response, Router, get, post
from litestar.exceptions import ClientException, PermissionDeniedException, TooManyRequestsException
from litestar.middleware.csrf import CSRF_SECRET_LENGTH, generate_csrf_hash
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Template
from litestar.utils.scope.state import ScopeState
from multipart import MultipartError, MultipartSegment, PushMultipartParser

from portal.errors import ValidationFailed
from portal.imaging import filing
from portal.imaging import images as imaging
from portal.permissions import Actor, Permission
from portal.request_limits import TooLarge
from portal.settings import Settings
from portal.views import csrf
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other

# A batch from a tablet may carry several full-size files; past this the whole request is refused (413).
BATCH_OF_FULL_SIZE_FILES = 4
CSRF_FIELD = "_csrf_token"
TEXT_FIELD_BYTES = 64 * 1024  # a caption is at most 500 characters; a text part past this is refused (413)
MAX_PARTS = imaging.MAX_FILES + 20
SLOT_WAIT_SECONDS = 10  # how long an upload waits for one of the UPLOAD_CONCURRENCY slots before its 429
SLOTS_KEY = "upload_slots"


def _token_secret(token: str, secret: str) -> str | None:
    """The random part of a Litestar CSRF token whose HMAC is ours, else None."""
    if len(token) <= CSRF_SECRET_LENGTH:
        return None
    random_part, signature = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
    return random_part if compare_digest(signature, generate_csrf_hash(random_part, secret)) else None


def _check_csrf(request: Request, token: str | None) -> None:
    """Litestar's CSRF rule (a signed token equal to the cookie's), done here because its middleware would read
    the whole upload into memory to find the form field; sets the token for the re-rendered form."""
    config = request.app.state.csrf_config
    cookie = request.cookies.get(config.cookie_name)
    sent = _token_secret(csrf.unmask(token), config.secret) if token else None
    kept = _token_secret(cookie, config.secret) if cookie else None
    if sent is None or kept is None or not compare_digest(sent, kept):
        raise PermissionDeniedException("CSRF token verification failed")
    ScopeState.from_scope(request.scope).csrf_token = csrf.mask(csrf.unmask(token))


class _StreamedForm:
    """Multipart events into text fields (in memory, capped) and `files` parts (each into its own temporary file,
    kept to one byte past the per-file limit). No file part is written before the CSRF token has been checked."""

    def __init__(self, request: Request, folder: str, max_bytes: int, header_token: str | None):
        self.request, self.folder, self.max_bytes = request, folder, max_bytes
        self.checked = header_token is not None
        self.fields: dict[str, str] = {}
        self.files: list[imaging.UploadedFile] = []
        self._text: bytearray | None = None
        self._file = None
        self._left = 0
        self._name = ""

    def event(self, event) -> None:
        if isinstance(event, MultipartSegment):
            self._begin(event)
        elif event is None:
            self._end()
        elif self._file is not None:
            piece = event[:self._left]
            self._file.write(piece)
            self._left -= len(piece)
        elif self._text is not None:
            self._text += event
            if len(self._text) > TEXT_FIELD_BYTES:
                raise TooLarge(detail=f"form field {self._name!r} over {TEXT_FIELD_BYTES} bytes")

    def _begin(self, segment: MultipartSegment) -> None:
        self._name = segment.name or ""
        if segment.filename is None:
            self._text = bytearray()
            return
        if not self.checked:  # the form sends its token first; a file before it is never kept
            _check_csrf(self.request, None)
        if self._name != "files" or not segment.filename:
            return
        if len(self.files) >= imaging.MAX_FILES:  # counted for the message, not kept
            self.files.append(imaging.UploadedFile(segment.filename))
            return
        path = f"{self.folder}/{len(self.files)}"
        self.files.append(imaging.UploadedFile(segment.filename, path=path))
        self._file = open(path, "wb")  # noqa: SIM115 - closed at the segment's end or by _close
        self._left = self.max_bytes + 1

    def _end(self) -> None:
        if self._text is not None:
            self.fields.setdefault(self._name, self._text.decode("utf-8", "replace"))
            if self._name == CSRF_FIELD and not self.checked:
                _check_csrf(self.request, self.fields[CSRF_FIELD])
                self.checked = True
        self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file, self._text = None, None


async def _streamed_form(request: Request, folder: str,
                         max_bytes: int) -> tuple[imaging.UploadForm, list[imaging.UploadedFile]]:
    """The upload form and its files, read from the body as it arrives: the body is never held whole."""
    header_token = request.headers.get(request.app.state.csrf_config.header_name)
    if header_token is not None:
        _check_csrf(request, header_token)
    content_type, options = request.content_type
    form = _StreamedForm(request, folder, max_bytes, header_token)
    if content_type == "multipart/form-data":
        if not options.get("boundary"):
            raise ClientException(detail="multipart body without a boundary")
        try:
            with PushMultipartParser(options["boundary"], max_segment_count=MAX_PARTS) as parser:
                async for chunk in request.stream():
                    for event in parser.parse(chunk):
                        form.event(event)
                for event in parser.parse(b""):
                    form.event(event)
        except MultipartError as exc:
            raise ClientException(detail=f"malformed upload: {exc}") from None
        finally:
            form.close()
    elif content_type == "application/x-www-form-urlencoded":
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > TEXT_FIELD_BYTES:
                raise TooLarge(detail="form body too large")
        for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            form.fields.setdefault(name, value)
    if not form.checked:
        _check_csrf(request, form.fields.get(CSRF_FIELD))
    fields = {name: form.fields.get(name, "") for name in imaging.UploadForm.__dataclass_fields__}
    return imaging.UploadForm(**fields), form.files


@asynccontextmanager
async def _upload_slot(request: Request):
    """One of the process's UPLOAD_CONCURRENCY upload slots; waits up to SLOT_WAIT_SECONDS, else 429 (busy, not
    broken: the page says to wait a moment, with Retry-After)."""
    state = request.app.state
    if state.get(SLOTS_KEY) is None:
        state[SLOTS_KEY] = asyncio.Semaphore(state.settings.upload_concurrency)
    slots: asyncio.Semaphore = state[SLOTS_KEY]
    try:
        await asyncio.wait_for(slots.acquire(), SLOT_WAIT_SECONDS)
    except TimeoutError:
        raise TooManyRequestsException(detail="every upload slot is busy") from None
    try:
        yield
    finally:
        slots.release()


def _gallery(request: Request, patient: dict, rows: list[dict], kind: str, form: imaging.UploadForm,
             errors: dict, status: int = 200, uploaded: int = 0, withdrawn: bool = False) -> Template:
    return render(request, "imaging/gallery.html", "imaging/_grid.html", status=status, patient=patient,
                  images=rows, kind=kind, form=form, errors=errors, uploaded=uploaded, kinds=imaging.KINDS,
                  withdrawn=withdrawn,
                  kind_choices=imaging.KIND_CHOICES,
                  max_mb=request.app.state.settings.image_max_bytes // 2**20)


async def _viewer(request: Request, actor: Actor, patient_id: int, image_id: int, status: int = 200,
                  errors: dict | None = None, relabel: filing.RelabelForm | None = None,
                  withdraw: filing.WithdrawForm | None = None) -> Template:
    """The viewer page, with the filing-correction forms (refused ones keep what was typed)."""
    patient, image = await imaging.get_image(actor, patient_id, image_id)
    labels = relabel or filing.RelabelForm(kind=image["kind"], taken_on=image["taken_on"].isoformat(),
                                           teeth=image["teeth"], caption=image["caption"])
    return render(request, "imaging/show.html", status=status, patient=patient, image=image, kinds=imaging.KINDS,
                  errors=errors or {}, relabel=labels, withdraw=withdraw or filing.WithdrawForm(),
                  relabel_open=relabel is not None, withdraw_open=withdraw is not None)


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
                      kind: FromQuery[str] = "", uploaded: FromQuery[int] = 0,
                      withdrawn: FromQuery[bool] = False) -> Template:
        """Thumbnails, newest first, with a kind filter (htmx swaps the grid), the upload form, and on demand the
        images withdrawn as wrongly filed."""
        patient, rows = await imaging.list_images(actor, patient_id, kind, withdrawn=withdrawn)
        return _gallery(request, patient, rows, kind, imaging.UploadForm(), {},
                        uploaded=min(max(uploaded, 0), imaging.MAX_FILES), withdrawn=withdrawn)

    @post("/", name="images.upload", guards=[requires(Permission.WRITE_CLINICAL)], exclude_from_csrf=True)
    async def upload(self, request: Request, actor: CurrentActor,
                     patient_id: FromPath[int]) -> Template | Redirect:
        """Upload one or more files; all are stored or none. The body streams to temporary files (so CSRF is
        checked here, on the header or the form's first field), one upload slot held throughout."""
        settings = request.app.state.settings
        max_bytes = settings.image_max_bytes
        async with _upload_slot(request):
            # Under the data directory, not /tmp, which is often a RAM-backed tmpfs.
            uploads = settings.data_dir / "uploads"
            uploads.mkdir(mode=0o700, parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix="upload-", dir=uploads) as folder:
                form, files = await _streamed_form(request, folder, max_bytes)
                try:
                    ids = await imaging.upload_images(actor, patient_id, form, files, max_bytes, folder)
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
        return await _viewer(request, actor, patient_id, image_id)

    @post("/{image_id:int}/relabel", name="images.relabel", guards=[requires(Permission.WRITE_CLINICAL)])
    async def relabel(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                      image_id: FromPath[int]) -> Template | Redirect:
        """Correct a wrongly filed image's kind, date, teeth or caption (with a reason, audited)."""
        form = await read_form(request, filing.RelabelForm)
        try:
            await filing.relabel(actor, patient_id, image_id, form)
        except ValidationFailed as exc:
            return await _viewer(request, actor, patient_id, image_id, relabel=form, errors=exc.errors, status=422)
        return see_other(request.app.route_reverse("images.show", patient_id=patient_id, image_id=image_id))

    @post("/{image_id:int}/withdraw", name="images.withdraw", guards=[requires(Permission.WRITE_CLINICAL)])
    async def withdraw(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                       image_id: FromPath[int]) -> Template | Redirect:
        """Withdraw a wrongly filed image: kept and audited, off the chart."""
        form = await read_form(request, filing.WithdrawForm)
        try:
            await filing.withdraw(actor, patient_id, image_id, form)
        except ValidationFailed as exc:
            return await _viewer(request, actor, patient_id, image_id, withdraw=form, errors=exc.errors, status=422)
        return see_other(request.app.route_reverse("images.gallery", patient_id=patient_id))

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
