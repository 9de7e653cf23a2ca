"""Payment plans: what an account owes split into instalments with due dates, what is paid and overdue on them,
and the reminders the worker mails (with consent) before and after a due date.

A plan is append-only (trigger); a new agreement is a new plan that replaces the account's last one. Nothing on a
plan is ever marked paid: payments booked on the account since the plan was agreed cover its instalments in due
order, and whatever else lowers the balance (a credit note, a write-off) covers them too, so an instalment is
never open for more than the account still owes. Reminders are keyed `instalment:<id>:<kind>` in the outbox (a
rerun queues nothing twice) and carry the payer's email-reminder consent as a guard re-checked when sent.
"""

from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal

from portal import audit, display, i18n
from portal.billing import accounts
from portal.billing.ledger import ZERO
from portal.charts.fee_schedule import currency, parse_fee
from portal.db import transaction
from portal.errors import ValidationFailed
from portal.forms import parse_date, too_long, whole_number
from portal.i18n import _, lazy_gettext
from portal.messaging import outbox
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, require
from portal.tables import LedgerEntry, PaymentInstalment, PaymentPlan

MAX_INSTALMENTS = 36
REMIND_BEFORE_DAYS = 3
OVERDUE_REMINDER_WINDOW_DAYS = 14  # after downtime, an overdue reminder older than this is not sent any more
STATES = {"paid": lazy_gettext("Paid"), "part": lazy_gettext("Partly paid"), "due": lazy_gettext("Due"),
          "overdue": lazy_gettext("Overdue")}
display.register_labels("instalment_state", STATES)

# The plans in force (not replaced), with what was paid on their account since and what the account owes now.
_LATEST = (
    "SELECT l.id, l.account, l.patient, l.total, l.note, l.created_at, l.created_by_name, a.name AS account_name, "
    "a.guarantor, (SELECT coalesce(-sum(e.amount), 0) FROM ledger_entry e WHERE e.account = l.account "
    "AND e.kind IN ('payment', 'refund') AND e.at >= l.created_at) AS paid, "
    "(SELECT coalesce(sum(e.amount), 0) FROM ledger_entry e WHERE e.account = l.account) AS balance "
    "FROM payment_plan l JOIN billing_account a ON a.id = l.account "
    "WHERE l.clinic = {} AND NOT EXISTS (SELECT 1 FROM payment_plan n WHERE n.replaces = l.id)")


@dataclass(frozen=True)
class PlanForm:
    plan_total: str = ""
    instalments: str = "3"
    first_due: str = ""
    note: str = ""


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it is shorter (31 Jan + 1 = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def split(total: Decimal, count: int) -> list[Decimal]:
    """Equal parts in cents; the last takes what rounding left over."""
    part = (total / count).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return [part] * (count - 1) + [total - part * (count - 1)]


def progress(plan: dict, instalments: list[dict], today: date) -> list[dict]:
    """Each instalment with what is paid and open on it and its state (see the module docstring)."""
    covered = max(plan["paid"], plan["total"] - max(plan["balance"], ZERO), ZERO)
    out = []
    for row in instalments:
        paid = min(row["amount"], covered)
        covered -= paid
        open_ = row["amount"] - paid
        state = "paid" if not open_ else "overdue" if row["due_on"] < today else "part" if paid else "due"
        out.append({**row, "paid": paid, "open": open_, "state": state})
    return out


async def _today(actor: Actor) -> date:
    from zoneinfo import ZoneInfo

    return datetime.now(timezone.utc).astimezone(ZoneInfo(actor.time_zone)).date()


async def create_plan(actor: Actor, patient_id: int, form: PlanForm) -> int:
    """Agree a plan on the patient's account (replacing the account's plan in force); at most what is owed."""
    require(actor, Permission.HANDLE_PAYMENTS)
    await ensure_in_clinic(actor, patient_id)
    total = parse_fee(form.plan_total or "")
    count = whole_number(form.instalments)
    first = parse_date(form.first_due) if form.first_due.strip() else None
    note = form.note.strip()
    today = await _today(actor)
    errors = {}
    if total is None or total <= 0:
        errors["plan_total"] = _("Enter an amount like 75.00 (more than zero, at most two decimals).")
    if count is None or not 2 <= count <= MAX_INSTALMENTS:
        errors["instalments"] = _("Enter a number of instalments from 2 to %(most)s.", most=MAX_INSTALMENTS)
    if first is None or first < today:
        errors["first_due"] = _("Enter the first due date, today or later, like 2026-01-31.")
    if problem := too_long(note, 500):
        errors["note"] = problem
    account_id = await accounts.account_id_of(actor.clinic_id, patient_id)
    async with transaction():
        await accounts.lock(account_id)
        owed = (await LedgerEntry.raw("SELECT coalesce(sum(amount), 0) AS s FROM ledger_entry WHERE account = {}",
                                      account_id))[0]["s"]
        if total is not None and total > 0 and total > owed:
            errors["plan_total"] = _("A plan covers at most what the account owes (%(owed)s).", owed=str(owed))
        if errors:
            raise ValidationFailed(errors)
        current = await PaymentPlan.raw(_LATEST + " AND l.account = {}", actor.clinic_id, account_id)
        plan_id = (await PaymentPlan.insert(PaymentPlan(
            clinic=actor.clinic_id, account=account_id, patient=patient_id,
            replaces=current[0]["id"] if current else None, total=total, note=note, created_by=actor.id,
            created_by_name=actor.name)).returning(PaymentPlan.id))[0]["id"]
        for seq, amount in enumerate(split(total, count), start=1):
            await PaymentInstalment.insert(PaymentInstalment(clinic=actor.clinic_id, plan=plan_id, seq=seq,
                                                             due_on=add_months(first, seq - 1), amount=amount))
        await audit.record(actor, "payment_plan.created", patient_id=patient_id, object_type="payment_plan",
                           object_id=plan_id, detail={"account": account_id, "total": str(total), "count": count,
                                                      "first_due": first.isoformat(),
                                                      "replaces": current[0]["id"] if current else None})
    return plan_id


async def _with_instalments(plans: list[dict], today: date) -> list[dict]:
    if not plans:
        return []
    rows = await PaymentInstalment.raw(
        "SELECT id, plan, seq, due_on, amount FROM payment_instalment WHERE plan = ANY({}::int[]) ORDER BY plan, seq",
        [p["id"] for p in plans])
    for plan in plans:
        plan["instalments"] = progress(plan, [r for r in rows if r["plan"] == plan["id"]], today)
    return plans


async def plan_in_force(actor: Actor, account_id: int) -> dict | None:
    """The account's plan in force with its instalments' progress (the account page shows it; it audits)."""
    plans = await PaymentPlan.raw(_LATEST + " AND l.account = {}", actor.clinic_id, account_id)
    found = await _with_instalments(plans, await _today(actor))
    return found[0] if found else None


async def overdue(actor: Actor) -> dict:
    """Every plan in force with an overdue instalment, oldest due first; the patients shown are audited."""
    require(actor, Permission.HANDLE_PAYMENTS)
    today = await _today(actor)
    plans = await _with_instalments(await PaymentPlan.raw(
        _LATEST + " AND EXISTS (SELECT 1 FROM payment_instalment i WHERE i.plan = l.id AND i.due_on < {})",
        actor.clinic_id, today), today)
    late = []
    for plan in plans:
        lagging = [i for i in plan["instalments"] if i["state"] == "overdue"]
        if lagging:
            late.append({**plan, "overdue": sum((i["open"] for i in lagging), ZERO), "since": lagging[0]["due_on"],
                         "patient_id": plan["guarantor"] or plan["patient"]})
    late.sort(key=lambda p: p["since"])
    await audit.record_patients_shown(actor, "payment_plan.overdue_listed",
                                      [p["patient_id"] for p in late if p["patient_id"]])
    return {"plans": late, "currency": await currency(actor.clinic_id)}


# Reminders (the worker, jobs/billing.py): every clinic's plans in force, with the payer's address and consent.
_REMINDABLE = (
    "SELECT l.id, l.clinic, l.account, l.total, l.created_at, a.guarantor, p.email, p.given_name, "
    "p.preferred_language, "
    "c.name AS clinic_name, c.locale AS clinic_language, c.country, c.currency, c.time_zone, "
    "chairside_may_contact(p.id, 'reminder_email') AS consented, "
    "(SELECT coalesce(-sum(e.amount), 0) FROM ledger_entry e WHERE e.account = l.account "
    "AND e.kind IN ('payment', 'refund') AND e.at >= l.created_at) AS paid, "
    "(SELECT coalesce(sum(e.amount), 0) FROM ledger_entry e WHERE e.account = l.account) AS balance "
    "FROM payment_plan l JOIN billing_account a ON a.id = l.account JOIN clinic c ON c.id = l.clinic "
    "JOIN patient p ON p.id = a.guarantor AND p.isolated_at IS NULL "
    "WHERE NOT EXISTS (SELECT 1 FROM payment_plan n WHERE n.replaces = l.id) "
    "AND EXISTS (SELECT 1 FROM payment_instalment i WHERE i.plan = l.id AND i.due_on BETWEEN {} AND {})")


def _reminder(plan: dict, instalment: dict, kind: str) -> outbox.Email:
    with i18n.using(plan["preferred_language"] or plan["clinic_language"], plan["country"]):
        values = {"name": plan["given_name"], "amount": display.money(instalment["open"], plan["currency"]),
                  "due": display.format_day(instalment["due_on"]), "clinic": plan["clinic_name"]}
        if kind == "upcoming":
            subject = _("Instalment due on %(due)s", **values)
            text = _("Dear %(name)s,\n\nYour instalment of %(amount)s is due on %(due)s.\n\n%(clinic)s\n", **values)
        else:
            subject = _("Instalment overdue since %(due)s", **values)
            text = _("Dear %(name)s,\n\nYour instalment of %(amount)s was due on %(due)s and is still open. "
                     "Please pay it, or call us if we should agree a new plan.\n\n%(clinic)s\n", **values)
    return outbox.Email(to=plan["email"], subject=subject, text=text)


async def send_reminders(now: datetime | None = None) -> int:
    """Queue a reminder a few days before each open instalment's due date and one once it is overdue, to payers
    who consented to email reminders; returns how many were queued."""
    from zoneinfo import ZoneInfo

    now = now or datetime.now(timezone.utc)
    low = now.date() - timedelta(days=OVERDUE_REMINDER_WINDOW_DAYS + 1)
    high = now.date() + timedelta(days=REMIND_BEFORE_DAYS + 1)
    plans = await PaymentPlan.raw(_REMINDABLE, low, high)
    queued = 0
    for plan in plans:
        if not plan["consented"] or not plan["email"]:
            continue
        today = now.astimezone(ZoneInfo(plan["time_zone"])).date()
        rows = await PaymentInstalment.raw("SELECT id, plan, seq, due_on, amount FROM payment_instalment "
                                           "WHERE plan = {} ORDER BY seq", plan["id"])
        for instalment in progress(plan, rows, today):
            days = (instalment["due_on"] - today).days
            if not instalment["open"]:
                continue
            kind = "upcoming" if 0 <= days <= REMIND_BEFORE_DAYS else \
                "overdue" if -OVERDUE_REMINDER_WINDOW_DAYS <= days < 0 else None
            if kind is None:
                continue
            async with transaction():
                key = f"instalment:{instalment['id']}:{kind}"
                if await outbox.enqueue(_reminder(plan, instalment, kind), key=key, clinic_id=plan["clinic"],
                                        patient_id=plan["guarantor"], guard_consent="reminder_email"):
                    queued += 1
                    await audit.record(None, f"payment_plan.reminder_{kind}", patient_id=plan["guarantor"],
                                       object_type="payment_instalment", object_id=instalment["id"],
                                       clinic_id=plan["clinic"])
    return queued
