"""The owner's insurers and funds: the list with a form to add one, and each payer's details and rates per fee code."""

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.billing import payers
from portal.errors import ValidationFailed
from portal.forms import whole_number
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other


def _form_of(payer: dict) -> payers.PayerForm:
    return payers.PayerForm(payer["name"], payer["identifier"], payer["address"], payer["email"],
                            f"{payer['default_percent'].normalize():f}", "1" if payer["active"] else "0")


class BillingPayersController(Controller):
    path = "/settings/billing/payers"
    guards = [signed_in, requires(Permission.MANAGE_CLINIC)]
    dependencies = {"actor": provide_actor}

    async def _list(self, request: Request, actor, status: int = 200, form=None, errors=None) -> Template:
        return render(request, "billing_payers/list.html", status=status, payers=await payers.list_payers(actor),
                      form=form or payers.PayerForm(), errors=errors or {})

    @get("/", name="billing_payers.list")
    async def index(self, request: Request, actor: CurrentActor) -> Template:
        """The clinic's insurers and funds, and a form to add one."""
        return await self._list(request, actor)

    @post("/", name="billing_payers.add")
    async def add(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """Add a payer, then set its rates."""
        form = await read_form(request, payers.PayerForm)
        try:
            payer_id = await payers.add_payer(actor, form)
        except ValidationFailed as exc:
            return await self._list(request, actor, 422, form, exc.errors)
        return see_other(request.app.route_reverse("billing_payers.show", payer_id=payer_id))

    @get("/{payer_id:int}", name="billing_payers.show")
    async def show(self, request: Request, actor: CurrentActor, payer_id: FromPath[int]) -> Template:
        """One payer's details and what it reimburses per fee code."""
        page = await payers.payer_page(actor, payer_id)
        return render(request, "billing_payers/show.html", **page, form=_form_of(page["payer"]), typed={},
                      errors={})

    @post("/{payer_id:int}", name="billing_payers.save")
    async def save(self, request: Request, actor: CurrentActor, payer_id: FromPath[int]) -> Template | Redirect:
        """Save the details and rates (new rates apply to charges from now on)."""
        form = await read_form(request, payers.PayerForm)
        posted = await request.form()
        rates = {number: str(value) for key, value in posted.items()
                 if key.startswith("rate_") and (number := whole_number(key[5:])) is not None}
        if "active" not in posted:
            form = payers.PayerForm(**{**vars(form), "active": "0"})
        try:
            await payers.save_payer(actor, payer_id, form, rates)
        except ValidationFailed as exc:
            return render(request, "billing_payers/show.html", status=422, **await payers.payer_page(actor, payer_id),
                          form=form, typed=rates, errors=exc.errors)
        return see_other(request.app.route_reverse("billing_payers.list"))
