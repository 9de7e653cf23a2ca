"""The clinic's billing settings: tax id on invoices, payment terms, VAT rate per fee code."""

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from portal.billing import setup
from portal.errors import ValidationFailed
from portal.forms import whole_number
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other


class BillingSettingsController(Controller):
    path = "/settings/billing"
    guards = [signed_in, requires(Permission.MANAGE_CLINIC)]
    dependencies = {"actor": provide_actor}

    @get("/", name="billing_settings.show")
    async def show(self, request: Request, actor: CurrentActor) -> Template:
        """Tax id, payment terms and VAT rates."""
        page = await setup.settings_page(actor)
        form = setup.BillingSettingsForm(page["clinic"]["tax_id"], str(page["clinic"]["payment_terms_days"]))
        return render(request, "billing_settings/show.html", **page, form=form, rates={}, errors={}, saved=False)

    @post("/", name="billing_settings.save")
    async def save(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """Save them (new VAT rates apply to procedures completed from now on)."""
        form = await read_form(request, setup.BillingSettingsForm)
        posted = await request.form()
        rates = {number: str(value) for key, value in posted.items()
                 if key.startswith("vat_") and (number := whole_number(key[4:])) is not None}
        try:
            await setup.save_settings(actor, form, rates)
        except ValidationFailed as exc:
            return render(request, "billing_settings/show.html", status=422, **await setup.settings_page(actor),
                          form=form, rates=rates, errors=exc.errors, saved=False)
        return see_other(request.app.route_reverse("billing_settings.show"))
