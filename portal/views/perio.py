"""Perio charts of one patient: the exams, charting a draft tooth by tooth (keypad), signing, and comparing exams."""

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal import display
from portal.charts import chart, perio, perio_classification, perio_recall, perio_sheet, perio_svg, teeth
from portal.errors import ValidationFailed
from portal.permissions import Permission, can
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other, wants_fragment

SAVED = {"HX-Trigger": "perio-saved"}  # the summary listens and redraws itself
# A draft's tooth forms carry no CSRF field: htmx sends the page's one token (hx-headers on <body>). A browser
# without script follows the <noscript> link to this query, where every tooth form carries its own token.
WITHOUT_SCRIPT = "without_script"


def _choices() -> dict:
    stages = {stage: display.label(stage, "perio_stage") for stage in perio_classification.STAGES}
    grades = {"": "—", **{grade: display.label(grade, "perio_grade") for grade in perio_classification.GRADES}}
    return {"stage_options": stages, "grade_options": grades, "sites": perio_classification.SITES,
            "site_names": perio_sheet.site_names()}


class PerioController(Controller):
    path = "/patients/{patient_id:int}/perio"
    guards = [signed_in, requires(Permission.READ_CLINICAL)]
    dependencies = {"actor": provide_actor}

    @get("/", name="perio.list")
    async def index(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """The patient's perio exams newest first, with their figures; pick two or more to compare."""
        patient = await chart.header(actor, patient_id)
        return render(request, "perio/list.html", patient=patient, exams=await perio.list_exams(actor, patient_id),
                      errors={})

    @post("/", name="perio.start", guards=[requires(Permission.WRITE_CLINICAL)])
    async def start(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Redirect:
        """Start an exam with the teeth present (or go back to the draft already open)."""
        exam_id = await perio.start_exam(actor, patient_id)
        return see_other(request.app.route_reverse("perio.exam", patient_id=patient_id, exam_id=exam_id))

    async def _exam(self, request: Request, actor, patient_id: int, exam_id: int, errors: dict,
                    status: int = 200, sign_form: perio.SignForm | None = None, refused: tuple | None = None
                    ) -> Template:
        """The exam page; `refused` is (tooth, form as typed, errors) when one tooth was refused without htmx (then,
        as on the page asked for without script, each tooth form carries its own CSRF field)."""
        page = await perio.exam_page(actor, patient_id, exam_id)
        numbering = await chart.numbering(actor.clinic_id)
        label_of = (lambda tooth: teeth.label(tooth, numbering))
        suggestion = page["suggestion"]
        sign_form = sign_form or perio.SignForm(stage=suggestion.stage, grade=suggestion.grade)
        signed = page["exam"]["signed_at"] is not None
        if signed:  # read only: numbers, no forms
            sheet = {"signed_rows": perio_sheet.signed_teeth(page["teeth"], label_of), "tooth_rows": []}
        else:
            typed = {refused[0]: (refused[1], refused[2])} if refused else {}
            forms = [(t["tooth"], *typed.get(t["tooth"], (perio.form_of(t), {}))) for t in page["teeth"]]
            exam_url = request.app.route_reverse("perio.exam", patient_id=patient_id, exam_id=exam_id)
            plain = bool(refused) or request.query_params.get(WITHOUT_SCRIPT) == "1"
            sheet = {"tooth_rows": perio_sheet.entry_teeth(forms, label_of, exam_url, plain), "signed_rows": [],
                     "entry_labels": perio_sheet.entry_labels(), "without_script": WITHOUT_SCRIPT, "plain": plain}
        return render(request, "perio/exam.html", status=status, patient=await chart.header(actor, patient_id),
                      **page, errors=errors, sign_form=sign_form, **sheet,
                      editable=not signed and can(actor, Permission.WRITE_CLINICAL),
                      may_sign=perio.may_sign(actor),
                      recall_offer=await perio_recall.offer(actor, patient_id, page["exam"]),
                      order=" ".join(f"{t}:{i}" for (t, i) in page["sequence"]), **_choices())

    @get("/{exam_id:int}", name="perio.exam")
    async def exam(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                   exam_id: FromPath[int]) -> Template:
        """A draft exam to chart (keypad, tooth by tooth) and sign; a signed exam as it was signed."""
        return await self._exam(request, actor, patient_id, exam_id, {})

    @post("/{exam_id:int}/teeth/{tooth:int}", name="perio.save_tooth", guards=[requires(Permission.WRITE_CLINICAL)])
    async def save_tooth(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                         exam_id: FromPath[int], tooth: FromPath[int]) -> Template | Redirect:
        """Save one tooth of a draft; htmx gets the tooth back (with messages beside its fields on a refusal)."""
        form = await read_form(request, perio.ToothForm)
        try:
            row = await perio.save_tooth(actor, patient_id, exam_id, tooth, form)
        except ValidationFailed as exc:
            if not wants_fragment(request):
                return await self._exam(request, actor, patient_id, exam_id, {}, 422,
                                        refused=(tooth, form, exc.errors))
            return await self._tooth(request, actor, patient_id, exam_id, tooth, form, exc.errors, 422)
        if not wants_fragment(request):
            return see_other(request.app.route_reverse("perio.exam", patient_id=patient_id, exam_id=exam_id)
                             + f"?{WITHOUT_SCRIPT}=1#tooth-{tooth}")
        page = await self._tooth(request, actor, patient_id, exam_id, tooth, perio.form_of(row), {})
        page.headers.update(SAVED)
        return page

    async def _tooth(self, request: Request, actor, patient_id: int, exam_id: int, tooth: int, form, errors: dict,
                     status: int = 200) -> Template:
        numbering = await chart.numbering(actor.clinic_id)
        exam_url = request.app.route_reverse("perio.exam", patient_id=patient_id, exam_id=exam_id)
        rows = perio_sheet.entry_teeth([(tooth, form, errors)], lambda n: teeth.label(n, numbering), exam_url)
        return render(request, "perio/exam.html", "perio/_tooth.html", status=status, patient={"id": patient_id},
                      exam={"id": exam_id, "signed_at": None}, tooth_rows=rows, editable=True, **_choices())

    @get("/{exam_id:int}/summary", name="perio.summary")
    async def summary(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                      exam_id: FromPath[int]) -> Template:
        """The figures and the suggested stage and grade (redrawn after each saved tooth)."""
        exam, figures, suggestion = await perio.summary(actor, patient_id, exam_id)
        patient = {"id": patient_id} if wants_fragment(request) else await chart.header(actor, patient_id)
        return render(request, "perio/summary.html", "perio/_summary.html", patient=patient, exam=exam,
                      summary=figures, suggestion=suggestion, errors={}, may_sign=perio.may_sign(actor),
                      sign_form=perio.SignForm(stage=suggestion.stage, grade=suggestion.grade), **_choices())

    @post("/{exam_id:int}/sign", name="perio.sign", guards=[requires(Permission.WRITE_CLINICAL)])
    async def sign(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                   exam_id: FromPath[int]) -> Template | Redirect:
        """Confirm the stage and grade and sign: the exam cannot change afterwards."""
        form = await read_form(request, perio.SignForm)
        try:
            await perio.sign_exam(actor, patient_id, exam_id, form)
        except ValidationFailed as exc:
            return await self._exam(request, actor, patient_id, exam_id, exc.errors, 422, sign_form=form)
        return see_other(request.app.route_reverse("perio.exam", patient_id=patient_id, exam_id=exam_id))

    @post("/{exam_id:int}/recall", name="perio.recall", guards=[requires(Permission.WRITE_CLINICAL)])
    async def recall(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                     exam_id: FromPath[int]) -> Template | Redirect:
        """One tap: move the patient to the clinic's perio maintenance recall type."""
        try:
            await perio_recall.move_to_perio_recall(actor, patient_id, exam_id)
        except ValidationFailed as exc:
            return await self._exam(request, actor, patient_id, exam_id, exc.errors, 422)
        return see_other(request.app.route_reverse("perio.exam", patient_id=patient_id, exam_id=exam_id)
                         + "?recall=moved")

    @get("/compare", name="perio.compare")
    async def compare(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                      exam: FromQuery[list[int] | None] = None) -> Template:
        """Two or more exams as one printable chart: depth per site as bars, worse and better sites marked."""
        patient = await chart.header(actor, patient_id)
        try:
            exams = await perio.compared_exams(actor, patient_id, exam or [])
        except ValidationFailed as exc:
            return render(request, "perio/list.html", status=422, patient=patient, errors=exc.errors,
                          exams=await perio.list_exams(actor, patient_id))
        numbering = await chart.numbering(actor.clinic_id)
        return render(request, "perio/compare.html", patient=patient, exams=exams,
                      drawing=perio_svg.drawing(exams, numbering), **_choices())
