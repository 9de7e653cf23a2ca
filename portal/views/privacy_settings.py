"""Owner pages: the processors register, the privacy notice editor, retention rules, the Art. 30 record."""

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal import links
from portal.errors import ValidationFailed
from portal.permissions import Permission
from portal.privacy import authority, notice, processors, records, retention
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other


class PrivacySettingsController(Controller):
    path = "/privacy-settings"
    guards = [signed_in, requires(Permission.MANAGE_CLINIC)]
    dependencies = {"actor": provide_actor}

    async def _page(self, request: Request, actor, errors: dict | None = None, status: int = 200,
                    **forms) -> Template:
        latest = await notice.current(actor.clinic_id)
        return render(request, "privacy_settings/index.html", status=status, errors=errors or {},
                      processors=await processors.list_processors(actor.clinic_id), kinds=processors.KINDS,
                      processor_form=forms.get("processor_form", processors.ProcessorForm()),
                      notices=await notice.history(actor),
                      notice_form=forms.get("notice_form", notice.NoticeForm(
                          body=latest["body"] if latest else notice.DEFAULT_TEXT.format(clinic=actor.clinic_name))),
                      rule_form=forms.get("rule_form", retention.RuleForm()),
                      consent_age=await records.consent_age(actor),
                      authority_form=forms.get("authority_form") or await authority.authority_of(actor.clinic_id),
                      **await retention.rules_page(actor))

    @get("/", name="privacy_settings.show")
    async def show(self, request: Request, actor: CurrentActor) -> Template:
        """Processors, notice, retention rules and the age of digital consent on one page."""
        return await self._page(request, actor)

    @post("/processors", name="privacy_settings.add_processor")
    async def add_processor(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """Register a processor (hosting, mail, SMS, lab …)."""
        form = await read_form(request, processors.ProcessorForm)
        try:
            await processors.add_processor(actor, form)
        except ValidationFailed as exc:
            return await self._page(request, actor, {f"processor_{k}": v for k, v in exc.errors.items()}, 422,
                                    processor_form=form)
        return see_other(request.app.route_reverse("privacy_settings.show") + "#processors")

    @post("/processors/{processor_id:int}/remove", name="privacy_settings.remove_processor")
    async def remove_processor(self, request: Request, actor: CurrentActor, processor_id: FromPath[int]) -> Redirect:
        """Remove a processor from the register."""
        await processors.remove_processor(actor, processor_id)
        return see_other(request.app.route_reverse("privacy_settings.show") + "#processors")

    @post("/notice", name="privacy_settings.publish_notice")
    async def publish_notice(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """Publish a new version; a material change mails every patient with an email address."""
        form = await read_form(request, notice.NoticeForm)
        try:
            await notice.publish(actor, form, links.absolute_url(request.app.state.settings, request.app.route_reverse(
                "privacy.public_notice", clinic_id=actor.clinic_id)))
        except ValidationFailed as exc:
            return await self._page(request, actor, {f"notice_{k}": v for k, v in exc.errors.items()}, 422,
                                    notice_form=form)
        return see_other(request.app.route_reverse("privacy_settings.show") + "#notice")

    @post("/retention", name="privacy_settings.confirm_rule")
    async def confirm_rule(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """Confirm the retention rule for a class of data in the clinic's country."""
        form = await read_form(request, retention.RuleForm)
        try:
            await retention.confirm_rule(actor, form)
        except ValidationFailed as exc:
            return await self._page(request, actor, {f"rule_{k}": v for k, v in exc.errors.items()}, 422,
                                    rule_form=form)
        return see_other(request.app.route_reverse("privacy_settings.show") + "#retention")

    @post("/consent-age", name="privacy_settings.consent_age")
    async def consent_age(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """The age of digital consent in the clinic's country (13-16)."""
        try:
            await records.set_consent_age(actor, str((await request.form()).get("age", "")))
        except ValidationFailed as exc:
            return await self._page(request, actor, {f"age_{k}": v for k, v in exc.errors.items()}, 422)
        return see_other(request.app.route_reverse("privacy_settings.show") + "#consent-age")

    @post("/authority", name="privacy_settings.authority")
    async def set_authority(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """The supervisory authority named in refusals."""
        form = await read_form(request, authority.AuthorityForm)
        try:
            await authority.set_authority(actor, form)
        except ValidationFailed as exc:
            return await self._page(request, actor, exc.errors, 422, authority_form=form)
        return see_other(request.app.route_reverse("privacy_settings.show") + "#authority")

    @get("/record", name="privacy_settings.record")
    async def record(self, request: Request, actor: CurrentActor) -> Template:
        """The record of processing activities (GDPR Art. 30), generated from the registry and processors."""
        return render(request, "privacy_settings/record.html", **await records.processing_record(actor))
