"""Staff side of messaging: a patient's conversation (WhatsApp, SMS, email), replies, attachments, and leads to turn
into patients."""

from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal import patients
from portal.errors import ValidationFailed
from portal.messaging import conversations, mail_routing, reply_addresses
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other


class MessagingController(Controller):
    guards = [signed_in, requires(Permission.READ_DEMOGRAPHICS)]
    dependencies = {"actor": provide_actor}

    async def _conversation(self, request: Request, actor, patient_id: int, errors: dict | None = None,
                            status: int = 200, posted: dict | None = None) -> Template:
        patient = await patients.get_patient(actor, patient_id, purpose="messages_viewed")
        return render(request, "messaging/conversation.html", status=status, patient=patient, errors=errors or {},
                      messages=await conversations.conversation(actor, patient_id),
                      attachments=await mail_routing.attachments_of(actor, patient_id),
                      email_on=reply_addresses.enabled(request.app.state.settings), posted=posted or {})

    @get("/patients/{patient_id:int}/messages", name="patients.messages")
    async def conversation(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """The patient's WhatsApp and SMS messages, with what each reply did."""
        return await self._conversation(request, actor, patient_id)

    @post("/patients/{patient_id:int}/messages", name="patients.reply",
          guards=[requires(Permission.MANAGE_CALENDAR)])
    async def reply(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Redirect:
        """Answer on WhatsApp (within 24 hours of the patient's last message)."""
        try:
            await conversations.reply(actor, patient_id, str((await request.form()).get("body", ""))[:2000])
        except ValidationFailed as exc:
            return await self._conversation(request, actor, patient_id, exc.errors, 422)
        return see_other(request.app.route_reverse("patients.messages", patient_id=patient_id))

    @post("/patients/{patient_id:int}/messages/email", name="patients.email_reply",
          guards=[requires(Permission.MANAGE_CALENDAR)])
    async def email_reply(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]
                          ) -> Template | Redirect:
        """Answer by email; the patient's reply threads back into this conversation."""
        body = str((await request.form()).get("email_body", ""))
        try:
            await mail_routing.reply(actor, patient_id, body)
        except ValidationFailed as exc:
            return await self._conversation(request, actor, patient_id, exc.errors, 422, {"email_body": body})
        return see_other(request.app.route_reverse("patients.messages", patient_id=patient_id))

    @get("/patients/{patient_id:int}/messages/attachments/{attachment_id:int}", name="patients.message_attachment")
    async def attachment(self, actor: CurrentActor, patient_id: FromPath[int],
                         attachment_id: FromPath[int]) -> Response:
        """A kept attachment (a PDF or an image, proved by its content), as a download."""
        found = await mail_routing.attachment(actor, patient_id, attachment_id)
        return Response(bytes(found["data"]), media_type=found["content_type"], headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found['filename'])}",
            "Cache-Control": "no-store"})

    async def _leads(self, request: Request, actor, errors: dict | None = None, lead_id: int | None = None,
                     status: int = 200) -> Template:
        return render(request, "messaging/leads.html", status=status, leads=await conversations.open_leads(actor),
                      errors=errors or {}, failed_lead=lead_id)

    @get("/leads", name="leads.list")
    async def leads(self, request: Request, actor: CurrentActor) -> Template:
        """Unknown numbers that wrote to the clinic."""
        return await self._leads(request, actor)

    @post("/leads/{lead_id:int}/convert", name="leads.convert", guards=[requires(Permission.EDIT_DEMOGRAPHICS)])
    async def convert(self, request: Request, actor: CurrentActor, lead_id: FromPath[int]) -> Template | Redirect:
        """Register the lead as a patient (number prefilled); the conversation moves with them."""
        form = await read_form(request, patients.PatientForm)
        try:
            patient_id = await conversations.convert_lead(actor, lead_id, form)
        except ValidationFailed as exc:
            return await self._leads(request, actor, exc.errors, lead_id, 422)
        return see_other(request.app.route_reverse("patients.show", patient_id=patient_id))
