"""The lab board, the lab directory and a patient's lab cases: create, send, track, record the invoice."""

import dataclasses

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.charts import chart
from portal.errors import ValidationFailed
from portal.imaging import images
from portal.lab import aligners, cases, directory, downloads, sending
from portal.permissions import Permission, can
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other


class LabController(Controller):
    path = "/lab"
    guards = [signed_in]
    dependencies = {"actor": provide_actor}

    @get("/", name="lab.board", guards=[requires(Permission.MANAGE_CALENDAR)])
    async def board(self, request: Request, actor: CurrentActor) -> Template:
        """Every open case of the clinic, late ones first."""
        return render(request, "lab/board.html", cases=await cases.list_cases(actor))

    async def _labs(self, request: Request, actor, form: directory.LabForm, errors: dict, status: int = 200,
                    lab_id: int | None = None) -> Template:
        return render(request, "lab/labs.html", status=status, labs=await directory.list_labs(actor), form=form,
                      errors=errors, lab_id=lab_id, items=directory.ITEMS)

    @get("/labs", name="lab.labs", guards=[requires(Permission.MANAGE_CLINIC)])
    async def labs(self, request: Request, actor: CurrentActor) -> Template:
        """The lab directory and a form to add a lab."""
        return await self._labs(request, actor, directory.LabForm(), {})

    @post("/labs", name="lab.add_lab", guards=[requires(Permission.MANAGE_CLINIC)])
    async def add_lab(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        form = await read_form(request, directory.LabForm)
        try:
            await directory.add_lab(actor, form)
        except ValidationFailed as exc:
            return await self._labs(request, actor, form, exc.errors, 422)
        return see_other(request.app.route_reverse("lab.labs"))

    @get("/labs/{lab_id:int}", name="lab.edit_lab", guards=[requires(Permission.MANAGE_CLINIC)])
    async def edit_lab(self, request: Request, actor: CurrentActor, lab_id: FromPath[int]) -> Template:
        form = directory.form_from_lab(await directory.get_lab(actor, lab_id))
        return await self._labs(request, actor, form, {}, lab_id=lab_id)

    @post("/labs/{lab_id:int}", name="lab.update_lab", guards=[requires(Permission.MANAGE_CLINIC)])
    async def update_lab(self, request: Request, actor: CurrentActor, lab_id: FromPath[int]) -> Template | Redirect:
        form = await read_form(request, directory.LabForm)
        try:
            await directory.update_lab(actor, lab_id, form)
        except ValidationFailed as exc:
            await directory.get_lab(actor, lab_id)  # 404 for another clinic's lab
            return await self._labs(request, actor, form, exc.errors, 422, lab_id=lab_id)
        return see_other(request.app.route_reverse("lab.labs"))


class PatientLabController(Controller):
    path = "/patients/{patient_id:int}/lab-cases"
    guards = [signed_in, requires(Permission.MANAGE_CALENDAR)]
    dependencies = {"actor": provide_actor}

    @get("/", name="lab.patient_cases")
    async def index(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """The patient's cases, newest first."""
        return render(request, "lab/patient_cases.html", patient=await chart.header(actor, patient_id),
                      cases=await cases.list_cases(actor, patient_id))

    async def _form(self, request: Request, actor, patient_id: int, form: cases.CaseForm, errors: dict,
                    status: int = 200) -> Template:
        pictures = (await images.list_images(actor, patient_id))[1] if can(actor, Permission.READ_IMAGES) else []
        return render(request, "lab/new.html", status=status, patient=await chart.header(actor, patient_id),
                      form=form, errors=errors, labs=await directory.list_labs(actor, active_only=True),
                      items=directory.ITEMS, images=pictures, kinds=images.KINDS,
                      seatings=await cases.seating_options(actor, patient_id),
                      chosen_items=form.items.split(","), chosen_images=form.image_ids.split(","))

    @get("/new", name="lab.new", guards=[requires(Permission.WRITE_CLINICAL)])
    async def new(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """A new case: lab, work, teeth, shade, scans and the seating appointment."""
        return await self._form(request, actor, patient_id, cases.CaseForm(), {})

    @post("/", name="lab.create", guards=[requires(Permission.WRITE_CLINICAL)])
    async def create(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Redirect:
        posted = await request.form()
        form = dataclasses.replace(await read_form(request, cases.CaseForm),
                                   items=",".join(posted.getall("items", [])),
                                   image_ids=",".join(posted.getall("image_ids", [])))
        try:
            case_id = await cases.create_case(actor, patient_id, form)
        except ValidationFailed as exc:
            return await self._form(request, actor, patient_id, form, exc.errors, 422)
        return see_other(request.app.route_reverse("lab.case", patient_id=patient_id, case_id=case_id))

    async def _case(self, request: Request, actor, patient_id: int, case_id: int, errors: dict | None = None,
                    status: int = 200, invoice: cases.InvoiceForm | None = None) -> Template:
        offers = (await downloads.offers(actor, request.app.state.settings, patient_id, case_id)
                  if can(actor, Permission.WRITE_CLINICAL) else [])
        return render(request, "lab/case.html", status=status, patient=await chart.header(actor, patient_id),
                      case=await cases.get_case(actor, patient_id, case_id), errors=errors or {},
                      invoice=invoice or cases.InvoiceForm(), offers=offers)

    @get("/{case_id:int}", name="lab.case")
    async def show(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                   case_id: FromPath[int]) -> Template:
        """The case: work, status, history, due date against the seating, the lab's invoices."""
        return await self._case(request, actor, patient_id, case_id)

    @post("/{case_id:int}/send", name="lab.send", guards=[requires(Permission.WRITE_CLINICAL)])
    async def send(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                   case_id: FromPath[int]) -> Template | Redirect:
        """Mail the slip and attachments to the lab."""
        try:
            await sending.send_case(actor, patient_id, case_id)
        except ValidationFailed as exc:
            return await self._case(request, actor, patient_id, case_id, exc.errors, 422)
        return see_other(request.app.route_reverse("lab.case", patient_id=patient_id, case_id=case_id))

    @post("/{case_id:int}/offer", name="lab.offer", guards=[requires(Permission.WRITE_CLINICAL)])
    async def offer(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                    case_id: FromPath[int]) -> Template | Redirect:
        """Offer the case to the lab as a time-limited signed download link (instead of mail)."""
        try:
            await downloads.offer(actor, request.app.state.settings, patient_id, case_id)
        except ValidationFailed as exc:
            return await self._case(request, actor, patient_id, case_id, exc.errors, 422)
        return see_other(request.app.route_reverse("lab.case", patient_id=patient_id, case_id=case_id))

    @post("/{case_id:int}/status", name="lab.status")
    async def status(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                     case_id: FromPath[int]) -> Template | Redirect:
        """The next step (shipped, received, checked, seated, remake)."""
        form = await read_form(request, cases.StatusForm)
        try:
            await cases.change_status(actor, patient_id, case_id, form)
        except ValidationFailed as exc:
            return await self._case(request, actor, patient_id, case_id, exc.errors, 422)
        return see_other(request.app.route_reverse("lab.case", patient_id=patient_id, case_id=case_id))

    @post("/{case_id:int}/invoices", name="lab.invoice")
    async def invoice(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                      case_id: FromPath[int]) -> Template | Redirect:
        """Record the lab's invoice against the case."""
        form = await read_form(request, cases.InvoiceForm)
        try:
            await cases.record_invoice(actor, patient_id, case_id, form)
        except ValidationFailed as exc:
            return await self._case(request, actor, patient_id, case_id, exc.errors, 422, invoice=form)
        return see_other(request.app.route_reverse("lab.case", patient_id=patient_id, case_id=case_id))

    @get("/{case_id:int}/slip.pdf", name="lab.slip", guards=[requires(Permission.READ_CLINICAL)])
    async def slip(self, actor: CurrentActor, patient_id: FromPath[int], case_id: FromPath[int]) -> Response:
        """The lab slip as a PDF."""
        data = await sending.slip_pdf(actor, patient_id, case_id)
        return Response(content=data, media_type="application/pdf", headers={
            "Cache-Control": "private, no-store", "Content-Disposition": f'inline; filename="lab-slip-{case_id}.pdf"'})


class AlignerController(Controller):
    """A patient's aligner series: start one, hand over batches, start a refinement from a new scan."""

    path = "/patients/{patient_id:int}/aligners"
    guards = [signed_in, requires(Permission.READ_CLINICAL)]
    dependencies = {"actor": provide_actor}

    async def _page(self, request: Request, actor, patient_id: int, errors: dict | None = None, failed: str = "",
                    typed=None, status: int = 200) -> Template:
        _patient, scans = await images.list_images(actor, patient_id, kind="scan")
        return render(request, "lab/aligners.html", status=status, patient=await chart.header(actor, patient_id),
                      series=await aligners.series_for(actor, patient_id), scans=scans,
                      lab_cases=await cases.list_cases(actor, patient_id), errors=errors or {}, failed=failed,
                      typed=typed)

    @get("/", name="aligners.list")
    async def index(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """Each series with its rounds, batches and the aligner worn today."""
        return await self._page(request, actor, patient_id)

    @post("/", name="aligners.start", guards=[requires(Permission.WRITE_CLINICAL)])
    async def start(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Redirect:
        form = await read_form(request, aligners.SeriesForm)
        try:
            await aligners.start_series(actor, patient_id, form)
        except ValidationFailed as exc:
            return await self._page(request, actor, patient_id, exc.errors, "start", form, 422)
        return see_other(request.app.route_reverse("aligners.list", patient_id=patient_id))

    @post("/{series_id:int}/batches", name="aligners.batch", guards=[requires(Permission.WRITE_CLINICAL)])
    async def batch(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                    series_id: FromPath[int]) -> Template | Redirect:
        form = await read_form(request, aligners.BatchForm)
        try:
            await aligners.deliver_batch(actor, patient_id, series_id, form)
        except ValidationFailed as exc:
            return await self._page(request, actor, patient_id, exc.errors, f"batch-{series_id}", form, 422)
        return see_other(request.app.route_reverse("aligners.list", patient_id=patient_id))

    @post("/{series_id:int}/refinements", name="aligners.refine", guards=[requires(Permission.WRITE_CLINICAL)])
    async def refine(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                     series_id: FromPath[int]) -> Template | Redirect:
        form = await read_form(request, aligners.RefinementForm)
        try:
            await aligners.refine(actor, patient_id, series_id, form)
        except ValidationFailed as exc:
            return await self._page(request, actor, patient_id, exc.errors, f"refine-{series_id}", form, 422)
        return see_other(request.app.route_reverse("aligners.list", patient_id=patient_id))


class LabDownloadController(Controller):
    """The lab's side of a download link: no session; the signed, expiring link is the key (portal/lab/downloads)."""

    path = downloads.PATH

    async def _gone(self) -> Template:
        return Template("lab/download.html", status_code=410, headers={"Cache-Control": "no-store"},
                        context={"offer": None})

    @get("/{token:str}", name="lab.download_page")
    async def page(self, request: Request, token: FromPath[str]) -> Template:
        try:
            offer = await downloads.open_link(request.app.state.settings, token)
        except downloads.LinkExpired:
            return await self._gone()
        return Template("lab/download.html", headers={"Cache-Control": "no-store"},
                        context={"offer": offer, "token": token, "time_zone": offer["time_zone"]})

    @post("/{token:str}", name="lab.download", status_code=200)
    async def download(self, request: Request, token: FromPath[str]) -> Response | Template:
        try:
            name, data = await downloads.fetch(request.app.state.settings, token)
        except downloads.LinkExpired:
            return await self._gone()
        return Response(data, media_type="application/zip", headers={
            "Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="{name}"'})
