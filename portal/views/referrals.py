"""A patient's referral letters: write one from the chart's template, sign, mail, follow it up; record one in."""

import dataclasses

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.charts import chart
from portal.documents import referrals
from portal.errors import ValidationFailed
from portal.imaging import images
from portal.permissions import Permission, can
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other


class ReferralController(Controller):
    path = "/patients/{patient_id:int}/referrals"
    guards = [signed_in, requires(Permission.READ_CLINICAL)]
    dependencies = {"actor": provide_actor}

    async def _list(self, request: Request, actor, patient_id: int, errors: dict | None = None,
                    status: int = 200, incoming: referrals.ReferralForm | None = None) -> Template:
        return render(request, "referrals/list.html", status=status, patient=await chart.header(actor, patient_id),
                      referrals=await referrals.list_referrals(actor, patient_id), errors=errors or {},
                      incoming=incoming or referrals.ReferralForm(), specialties=referrals.SPECIALTIES)

    @get("/", name="referrals.list")
    async def index(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """Letters out and in, newest first, with their statuses."""
        return await self._list(request, actor, patient_id)

    async def _form(self, request: Request, actor, patient_id: int, form: referrals.ReferralForm, errors: dict,
                    status: int = 200) -> Template:
        pictures = (await images.list_images(actor, patient_id))[1] if can(actor, Permission.READ_IMAGES) else []
        return render(request, "referrals/new.html", status=status, patient=await chart.header(actor, patient_id),
                      form=form, errors=errors, specialties=referrals.SPECIALTIES, images=pictures,
                      kinds=images.KINDS, chosen_images=form.image_ids.split(","))

    @get("/new", name="referrals.new", guards=[requires(Permission.WRITE_CLINICAL)])
    async def new(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                  specialty: FromQuery[str] = "orthodontist") -> Template:
        """A letter started from the template: history, alerts and findings filled in."""
        specialty = specialty if specialty in referrals.SPECIALTIES else "orthodontist"
        form = referrals.ReferralForm(specialty=specialty,
                                      body=await referrals.draft_letter(actor, patient_id, specialty))
        return await self._form(request, actor, patient_id, form, {})

    @post("/", name="referrals.sign", guards=[requires(Permission.WRITE_CLINICAL)])
    async def sign(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Redirect:
        posted = await request.form()
        form = dataclasses.replace(await read_form(request, referrals.ReferralForm),
                                   image_ids=",".join(posted.getall("image_ids", [])))
        try:
            await referrals.refer(actor, patient_id, form)
        except ValidationFailed as exc:
            return await self._form(request, actor, patient_id, form, exc.errors, 422)
        return see_other(request.app.route_reverse("referrals.list", patient_id=patient_id))

    @post("/incoming", name="referrals.incoming", guards=[requires(Permission.WRITE_CLINICAL)])
    async def incoming(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Redirect:
        """Record a referral another practice sent us."""
        form = await read_form(request, referrals.ReferralForm)
        try:
            await referrals.record_incoming(actor, patient_id, form)
        except ValidationFailed as exc:
            return await self._list(request, actor, patient_id, {"incoming": exc.errors}, 422, incoming=form)
        return see_other(request.app.route_reverse("referrals.list", patient_id=patient_id))

    @get("/{referral_id:int}/pdf", name="referrals.pdf")
    async def pdf(self, actor: CurrentActor, patient_id: FromPath[int], referral_id: FromPath[int]) -> Response:
        """The letter as signed."""
        data = await referrals.letter_pdf(actor, patient_id, referral_id)
        return Response(content=data, media_type="application/pdf", headers={
            "Cache-Control": "private, no-store",
            "Content-Disposition": f'inline; filename="referral-{referral_id}.pdf"'})

    @post("/{referral_id:int}/mail", name="referrals.mail", guards=[requires(Permission.WRITE_CLINICAL)])
    async def mail(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                   referral_id: FromPath[int]) -> Template | Redirect:
        """Mail the signed letter and its images to the specialist."""
        try:
            await referrals.mail_referral(actor, patient_id, referral_id)
        except ValidationFailed as exc:
            return await self._list(request, actor, patient_id, {referral_id: exc.errors}, 422)
        return see_other(request.app.route_reverse("referrals.list", patient_id=patient_id))

    @post("/{referral_id:int}/status", name="referrals.status", guards=[requires(Permission.WRITE_CLINICAL)])
    async def status(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                     referral_id: FromPath[int]) -> Template | Redirect:
        """Seen, or the specialist's report received."""
        form = await read_form(request, referrals.StatusForm)
        try:
            await referrals.change_status(actor, patient_id, referral_id, form)
        except ValidationFailed as exc:
            return await self._list(request, actor, patient_id, {referral_id: exc.errors}, 422)
        return see_other(request.app.route_reverse("referrals.list", patient_id=patient_id))
