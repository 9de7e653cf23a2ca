"""The treatment plan as a PDF (shared renderer): phases, fees, totals and every acceptance with its signature."""

import json

from portal import audit, display
from portal.charts import treatment_plans
from portal.db import transaction
from portal.documents import letterhead, pdf
from portal.i18n import gettext as _
from portal.permissions import Actor, Permission, require
from portal.tables import Patient, PlanAcceptance


async def plan_pdf(actor: Actor, patient_id: int, plan_id: int) -> tuple[str, bytes]:
    """(file name, PDF bytes) of a plan; the download is audited."""
    require(actor, Permission.READ_CLINICAL)
    plan = await treatment_plans.get_plan(actor, patient_id, plan_id)
    async with transaction():
        acceptances = await PlanAcceptance.select().where(
            (PlanAcceptance.plan == plan_id) & (PlanAcceptance.clinic == actor.clinic_id)).order_by(PlanAcceptance.id)
        patient = await Patient.select(Patient.given_name, Patient.family_name, Patient.date_of_birth).where(
            Patient.id == patient_id).first()
        await audit.record(actor, "treatment_plan.downloaded", patient_id=patient_id, object_type="treatment_plan",
                           object_id=plan_id)
    blocks: list = [pdf.Facts([
        (_("Patient"), f"{patient['given_name']} {patient['family_name']}"),
        (_("Date of birth"), display.format_day(patient["date_of_birth"])),
        (_("Plan"), _("%(title)s, version %(version)s", title=plan["title"], version=plan["version"])),
        (_("Status"), str(treatment_plans.STATUSES[plan["status"]]))])]
    for phase in plan["phases"]:
        blocks += [pdf.Heading(_("Phase %(number)s", number=phase["number"])),
                   pdf.Table((_("Code"), _("Procedure"), _("Tooth"), _("Fee")),
                             [(i["code"], i["description"], f"{i['tooth'] or ''} {i['surfaces']}".strip() or "—",
                               display.money(i["fee"], plan["currency"])) for i in phase["items"]],
                             align_right=(3,), widths=(0.15, 0.5, 0.15, 0.2),
                             total=("", _("Phase total"), "", display.money(phase["total"], plan["currency"])))]
    blocks.append(pdf.Text(_("Plan total: %(total)s", total=display.money(plan["total"], plan["currency"]))))
    for a in acceptances:
        items = a["items"] if isinstance(a["items"], list) else json.loads(a["items"])
        role = str(treatment_plans.SIGNER_ROLES.get(a["signer_role"], a["signer_role"]))
        blocks += [pdf.Heading(_("Accepted: version %(version)s", version=a["plan_version"])),
                   pdf.Facts([(_("Accepted by"), f"{a['accepted_by']} ({role})"),
                              (_("How"), str(treatment_plans.METHODS.get(a["method"], a["method"]))),
                              (_("When"), display.when_utc(a["at"])),
                              (_("Recorded by"), a["recorded_by_name"]),
                              (_("Total accepted"), display.money(a["total"], a["currency"])),
                              (_("Procedures"), ", ".join(f"{i['code']} {i['description']}" for i in items))])]
        if a["signature_png"]:
            blocks += [pdf.Picture(bytes(a["signature_png"]), caption=_("Signed by %(name)s", name=a["accepted_by"])),
                       pdf.Text(_("SHA-256 of what was signed: %(hash)s", hash=a["signed_sha256"]), small=True)]
    title = _("Treatment plan")
    document = pdf.render(await letterhead.for_clinic(actor.clinic_id), title, blocks, footer=title)
    return f"plan-{plan_id}-v{plan['version']}.pdf", document
