"""Families and linked guardians on the patient page: the household block (loaded by htmx), its forms, the
patient typeahead that chooses members and guardians, and linking a guardian who is a patient here."""

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal import patients
from portal.errors import ValidationFailed
from portal.families import guardians, households
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other

FIELDS = ("member_patient", "guardian_patient")  # the two typeaheads (each its own radio group)


class FamilyController(Controller):
    path = "/patients/{patient_id:int}"
    guards = [signed_in, requires(Permission.READ_DEMOGRAPHICS)]
    dependencies = {"actor": provide_actor}

    @get("/family", name="families.show")
    async def show(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """The patient's family, its members and the children they are guardian of."""
        return await _page(request, actor, patient_id)

    @get("/family/options", name="families.options")
    async def options(self, request: Request, actor: CurrentActor, patient_id: FromPath[int], q: FromQuery[str] = "",
                      field: FromQuery[str] = "member_patient") -> Template:
        """Typeahead: matching patients of this clinic as radio buttons (the patient themself left out)."""
        await patients.ensure_in_clinic(actor, patient_id)
        field = field if field in FIELDS else FIELDS[0]
        rows = [r for r in await patients.search_patients(actor, q, limit=8) if r["id"] != patient_id]
        return render(request, "families/_options.html", options=rows, field=field, searched=True)

    @post("/family", name="families.create", guards=[requires(Permission.EDIT_DEMOGRAPHICS)])
    async def create(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Redirect:
        """Start a family with this patient as its first member."""
        form = await read_form(request, households.FamilyForm)
        try:
            await households.create_family(actor, patient_id, form)
        except ValidationFailed as exc:
            return await _page(request, actor, patient_id, family_form=form, errors=exc.errors, status=422)
        return _back(request, patient_id)

    @post("/family/edit", name="families.update", guards=[requires(Permission.EDIT_DEMOGRAPHICS)])
    async def update(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Redirect:
        """Rename the family or change its address."""
        form = await read_form(request, households.FamilyForm)
        try:
            await households.update_family(actor, patient_id, form)
        except ValidationFailed as exc:
            return await _page(request, actor, patient_id, family_form=form, errors=exc.errors, status=422)
        return _back(request, patient_id)

    @post("/family/members", name="families.add_member", guards=[requires(Permission.EDIT_DEMOGRAPHICS)])
    async def add_member(self, request: Request, actor: CurrentActor,
                         patient_id: FromPath[int]) -> Template | Redirect:
        """Add a patient of this clinic to the family."""
        form = await read_form(request, households.MemberForm)
        try:
            await households.add_member(actor, patient_id, form)
        except ValidationFailed as exc:
            return await _page(request, actor, patient_id, errors=exc.errors, status=422)
        return _back(request, patient_id)

    @post("/family/members/{member_id:int}/remove", name="families.remove_member",
          guards=[requires(Permission.EDIT_DEMOGRAPHICS)])
    async def remove_member(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                            member_id: FromPath[int]) -> Redirect:
        """Take a member out of the family."""
        await households.remove_member(actor, patient_id, member_id)
        return _back(request, patient_id)

    @post("/family/address", name="families.apply_address", guards=[requires(Permission.EDIT_DEMOGRAPHICS)])
    async def apply_address(self, request: Request, actor: CurrentActor,
                            patient_id: FromPath[int]) -> Template | Redirect:
        """Use the family's address for every member."""
        try:
            await households.apply_address(actor, patient_id)
        except ValidationFailed as exc:
            return await _page(request, actor, patient_id, errors=exc.errors, status=422)
        return _back(request, patient_id)

    @post("/family/billing", name="families.bill_together", guards=[requires(Permission.HANDLE_PAYMENTS)])
    async def bill_together(self, request: Request, actor: CurrentActor,
                            patient_id: FromPath[int]) -> Template | Redirect:
        """Bill every member to one family account headed by the chosen member."""
        form = await read_form(request, households.BillingForm)
        try:
            refused = await households.bill_together(actor, patient_id, form)
        except ValidationFailed as exc:
            return await _page(request, actor, patient_id, errors=exc.errors, status=422)
        if refused:
            return await _page(request, actor, patient_id, errors={"guarantor": "; ".join(refused)}, status=409)
        return _back(request, patient_id)

    @post("/guardians/link", name="guardians.link", guards=[requires(Permission.EDIT_DEMOGRAPHICS)])
    async def link_guardian(self, request: Request, actor: CurrentActor,
                            patient_id: FromPath[int]) -> Template | Redirect:
        """Make a patient of this clinic a guardian of this patient."""
        form = await read_form(request, guardians.LinkForm)
        try:
            await guardians.link_guardian(actor, patient_id, form)
        except ValidationFailed as exc:
            return await _page(request, actor, patient_id, link_form=form, errors=exc.errors, status=422)
        return _back(request, patient_id)


def _back(request: Request, patient_id: int) -> Redirect:
    return see_other(request.app.route_reverse("patients.show", patient_id=patient_id))


async def _page(request: Request, actor, patient_id: int, family_form: households.FamilyForm | None = None,
                link_form: guardians.LinkForm | None = None, errors: dict | None = None,
                status: int = 200) -> Template:
    data = await households.household(actor, patient_id)
    if family_form is None:
        family_form = households.FamilyForm(household_name=data["family"]["name"], **{
            k: data["family"][k] for k in households.ADDRESS}) if data["family"] \
            else await households.proposal(actor, patient_id)
    return render(request, "families/family.html", "families/_family.html", status=status, patient_id=patient_id,
                  data=data, family_form=family_form, link_form=link_form or guardians.LinkForm(),
                  errors=errors or {}, countries=patients.COUNTRIES, show_link_form=link_form is not None)
