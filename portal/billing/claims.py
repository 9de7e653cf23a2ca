"""Payer claims: the open payer shares of one account, or of every patient for one payer in a date range, claimed
under a number; the claim's life (drafted, sent, paid, partly paid, rejected) as append-only events; the payer's
payment posted to the ledger against the claimed charges, and a rejection moving the shares back to the patient.
"""

from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from portal import audit, display
from portal.billing import accounts, ledger, payments
from portal.billing.ledger import ZERO
from portal.charts.fee_schedule import parse_fee
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import collect, parse_date, required, too_long, whole_number
from portal.i18n import _, lazy_gettext
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, require
from portal.tables import Payer, PayerClaim, PayerClaimEvent, PayerClaimLine, PayerShare

STATES = {"drafted": lazy_gettext("Drafted"), "sent": lazy_gettext("Sent"), "paid": lazy_gettext("Paid"),
          "partly_paid": lazy_gettext("Partly paid"), "rejected": lazy_gettext("Rejected")}
display.register_labels("claim_state", STATES)
NEXT = {"drafted": {"sent"}, "sent": {"paid", "partly_paid", "rejected"},
        "partly_paid": {"paid", "partly_paid", "rejected"}, "paid": set(), "rejected": set()}
LIVE = ("drafted", "sent", "partly_paid")  # a share on a live claim is not claimed again
_STATE = "(SELECT v.state FROM payer_claim_event v WHERE v.claim = {alias}.id ORDER BY v.id DESC LIMIT 1)"


@dataclass(frozen=True)
class DraftForm:
    payer: str = ""
    date_from: str = ""
    date_to: str = ""


@dataclass(frozen=True)
class ClaimPaymentForm:
    amount: str = ""
    reference: str = ""


@dataclass(frozen=True)
class RejectForm:
    reason: str = ""


async def open_shares(clinic_id: int, payer_id: int, zone: str, account_id: int | None = None,
                      date_from=None, date_to=None) -> list[dict]:
    """Expected shares of one payer still open and on no live claim, oldest charge first."""
    where, args = "", []
    if account_id is not None:
        where += " AND s.account = {}"
        args.append(account_id)
    if date_from is not None:
        where += " AND (e.at AT TIME ZONE {})::date >= {}"
        args += [zone, date_from]
    if date_to is not None:
        where += " AND (e.at AT TIME ZONE {})::date <= {}"
        args += [zone, date_to]
    return await PayerShare.raw(
        "SELECT * FROM (SELECT s.id AS share, s.charge, s.account, s.patient, e.at, e.code, e.description, "
        "e.amount AS charged, (SELECT sum(x.amount) FROM payer_share x WHERE x.charge = s.charge) AS open, "
        "(SELECT c.member_number FROM payer_coverage c WHERE c.patient = s.patient AND c.payer = s.payer "
        "AND c.valid_from <= (e.at AT TIME ZONE {})::date ORDER BY c.valid_from DESC LIMIT 1) AS member_number "
        "FROM payer_share s JOIN ledger_entry e ON e.id = s.charge "
        "WHERE s.kind = 'expected' AND s.clinic = {} AND s.payer = {} AND NOT EXISTS (SELECT 1 FROM "
        f"payer_claim_line l JOIN payer_claim k ON k.id = l.claim WHERE l.share = s.id AND {_STATE.format(alias='k')} "
        f"IN ('drafted', 'sent', 'partly_paid')){where}) o WHERE o.open > 0 ORDER BY o.at, o.share",
        zone, clinic_id, payer_id, *args)


async def _payer(actor: Actor, text: str) -> dict | None:
    payer_id = whole_number(text or "")
    return await Payer.select().where((Payer.id == (payer_id or 0)) & (Payer.clinic == actor.clinic_id)).first()


async def _event(actor: Actor, claim_id: int, state: str, amount=ZERO, note: str = "") -> None:
    await PayerClaimEvent.insert(PayerClaimEvent(clinic=actor.clinic_id, claim=claim_id, state=state, amount=amount,
                                                 note=note, by_staff=actor.id, by_name=actor.name,
                                                 at=datetime.now(timezone.utc)))
    await audit.record(actor, f"payer_claim.{state}", object_type="payer_claim", object_id=claim_id,
                       detail={"amount": str(amount)} if amount else None)


async def draft(actor: Actor, form: DraftForm, patient_id: int | None = None) -> int:
    """Claim every open share of the payer: of the patient's account, or of all patients in the date range."""
    require(actor, Permission.HANDLE_PAYMENTS)
    account_id = None
    if patient_id is not None:
        await ensure_in_clinic(actor, patient_id)
        account_id = await accounts.account_id_of(actor.clinic_id, patient_id)
    payer = await _payer(actor, form.payer)
    start = parse_date(form.date_from) if (form.date_from or "").strip() else None
    end = parse_date(form.date_to) if (form.date_to or "").strip() else None
    errors = collect(payer=None if payer else _("Choose a payer from the list."),
                     date_from=_("Enter a date like 2026-01-31.") if (form.date_from or "").strip() and not start
                     else None,
                     date_to=_("Enter a date on or after the first.") if (form.date_to or "").strip() and (
                         not end or (start and end < start)) else None)
    if errors:
        raise ValidationFailed(errors)
    now = datetime.now(timezone.utc)
    async with transaction():
        # One drafter at a time per clinic: shares are claimed once, and numbers run 1, 2, 3 per year.
        await PayerClaim.raw("SELECT pg_advisory_xact_lock(hashtext('payer_claim'), {})", actor.clinic_id)
        shares = await open_shares(actor.clinic_id, payer["id"], actor.time_zone, account_id, start, end)
        if not shares:
            raise ValidationFailed({"payer": _("Nothing is open for this payer to claim.")})
        year = now.astimezone(ZoneInfo(actor.time_zone)).year
        seq = (await PayerClaim.raw("SELECT coalesce(max(seq), 0) + 1 AS n FROM payer_claim WHERE clinic = {} "
                                    "AND year = {}", actor.clinic_id, year))[0]["n"]
        total = sum((s["open"] for s in shares), ZERO)
        claim_id = (await PayerClaim.insert(PayerClaim(
            clinic=actor.clinic_id, payer=payer["id"], year=year, seq=seq, number=f"CL{year}-{seq:05d}",
            period_from=start, period_to=end, total=total, created_by=actor.id, created_by_name=actor.name,
            created_at=now)))[0]["id"]
        await PayerClaimLine.insert(*(PayerClaimLine(
            clinic=actor.clinic_id, claim=claim_id, share=s["share"], account=s["account"], patient=s["patient"],
            member_number=s["member_number"] or "", performed_on=s["at"].astimezone(ZoneInfo(actor.time_zone)).date(),
            code=s["code"], description=s["description"], charged=s["charged"], amount=s["open"]) for s in shares))
        await _event(actor, claim_id, "drafted", total)
    return claim_id


async def _claim(actor: Actor, claim_id: int, lock: bool = False) -> dict:
    rows = await PayerClaim.raw(
        f"SELECT k.*, {_STATE.format(alias='k')} AS state, p.name AS payer_name, p.identifier AS payer_identifier, "
        "p.address AS payer_address, p.email AS payer_email, c.currency FROM payer_claim k "
        "JOIN payer p ON p.id = k.payer JOIN clinic c ON c.id = k.clinic "
        "WHERE k.id = {} AND k.clinic = {}" + (" FOR UPDATE OF k" if lock else ""), claim_id, actor.clinic_id)
    if not rows:
        raise NotFound()
    return rows[0]


async def _lines(claim_id: int) -> list[dict]:
    return await PayerClaimLine.raw(
        "SELECT l.*, s.charge, p.given_name, p.family_name, p.date_of_birth, "
        "(SELECT sum(x.amount) FROM payer_share x WHERE x.charge = s.charge) AS open, "
        "(SELECT -coalesce(sum(x.amount), 0) FROM payer_share x WHERE x.charge = s.charge AND x.claim = l.claim "
        "AND x.kind = 'paid') AS paid FROM payer_claim_line l JOIN payer_share s ON s.id = l.share "
        "LEFT JOIN patient p ON p.id = l.patient WHERE l.claim = {} ORDER BY l.id", claim_id)


async def read(actor: Actor, claim_id: int, audited: bool = True) -> dict:
    """The claim with its lines (patients named), what is still open on it, and its events."""
    require(actor, Permission.HANDLE_PAYMENTS)
    claim = await _claim(actor, claim_id)
    claim["lines"] = await _lines(claim_id)
    claim["open"] = sum((line["open"] for line in claim["lines"]), ZERO)
    claim["paid"] = sum((line["paid"] for line in claim["lines"]), ZERO)
    claim["events"] = await PayerClaimEvent.select().where(PayerClaimEvent.claim == claim_id).order_by(
        PayerClaimEvent.id)
    claim["next"] = NEXT[claim["state"]]
    if audited:
        await audit.record_patients_shown(actor, "payer_claim.viewed", patients_of(claim))
    return claim


def patients_of(claim: dict) -> list[int]:
    return list(dict.fromkeys(line["patient"] for line in claim["lines"] if line["patient"]))


async def list_claims(actor: Actor) -> list[dict]:
    """The clinic's claims, newest first, with their state (no patient is named on the list)."""
    require(actor, Permission.HANDLE_PAYMENTS)
    return await PayerClaim.raw(
        f"SELECT k.id, k.number, k.total, k.created_at, k.period_from, k.period_to, {_STATE.format(alias='k')} "
        "AS state, p.name AS payer_name, (SELECT count(*) FROM payer_claim_line l WHERE l.claim = k.id) AS lines, "
        "c.currency FROM payer_claim k JOIN payer p ON p.id = k.payer JOIN clinic c ON c.id = k.clinic "
        "WHERE k.clinic = {} ORDER BY k.id DESC LIMIT 200",
        actor.clinic_id)


def _allowed(claim: dict, state: str) -> None:
    if state not in NEXT[claim["state"]]:
        raise ValidationFailed({"state": _("A %(state)s claim cannot change like that.",
                                           state=str(STATES[claim["state"]]).lower())})


async def mark_sent(actor: Actor, claim_id: int) -> dict:
    """The claim went to the payer (uploaded, mailed or posted by the clinic); returns it for the disclosure."""
    require(actor, Permission.HANDLE_PAYMENTS)
    async with transaction():
        claim = await _claim(actor, claim_id, lock=True)
        _allowed(claim, "sent")
        await _event(actor, claim_id, "sent")
        claim["lines"] = await _lines(claim_id)
        from portal.billing import claim_documents

        await claim_documents.disclose(actor, claim)
    return claim


async def record_payment(actor: Actor, claim_id: int, form: ClaimPaymentForm) -> None:
    """The payer paid (all or part): one ledger payment per claimed charge, oldest line first; the claim is paid
    when nothing is left open on it, else partly paid (the rest can be paid later or rejected)."""
    require(actor, Permission.HANDLE_PAYMENTS)
    amount = parse_fee(form.amount or "")
    reference = form.reference.strip()
    async with transaction():
        claim = await _claim(actor, claim_id, lock=True)
        lines = await _lines(claim_id)
        open_total = sum((line["open"] for line in lines), ZERO)
        errors = collect(amount=None if amount and 0 < amount <= open_total
                         else _("Enter an amount more than zero and at most what is open (%(open)s).",
                                open=str(open_total)), reference=too_long(reference, 60))
        if not errors:
            _allowed(claim, "paid")
        if errors:
            raise ValidationFailed(errors)
        left, touched = amount, []
        for line in lines:
            take = min(left, line["open"])
            if take <= 0:
                continue
            await accounts.lock(line["account"])
            entry_id = await ledger.append(actor, line["account"], line["patient"], "payment", -take,
                                           method="bank_transfer",
                                           reference=f"{claim['number']} {claim['payer_name']} {reference}"[:100])
            await PayerShare.insert(PayerShare(
                clinic=actor.clinic_id, account=line["account"], patient=line["patient"], payer=claim["payer"],
                charge=line["charge"], kind="paid", amount=-take, claim=claim_id, entry=entry_id,
                recorded_by_name=actor.name, at=datetime.now(timezone.utc)))
            touched.append(line["account"])
            left -= take
        for account_id in dict.fromkeys(touched):
            await payments.apply_credit(actor, account_id)
        await _event(actor, claim_id, "paid" if amount == open_total else "partly_paid", amount, reference)


async def reject(actor: Actor, claim_id: int, form: RejectForm) -> None:
    """The payer refused what is open on the claim: each open share moves back to its patient (a new entry)."""
    require(actor, Permission.HANDLE_PAYMENTS)
    reason = form.reason.strip()
    errors = collect(reason=required(reason, _("Reason")) or too_long(reason, 300))
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        claim = await _claim(actor, claim_id, lock=True)
        _allowed(claim, "rejected")
        moved = ZERO
        for line in await _lines(claim_id):
            if line["open"] <= 0:
                continue
            await PayerShare.insert(PayerShare(
                clinic=actor.clinic_id, account=line["account"], patient=line["patient"], payer=claim["payer"],
                charge=line["charge"], kind="rejected", amount=-line["open"], claim=claim_id,
                recorded_by_name=actor.name, at=datetime.now(timezone.utc)))
            await audit.record(actor, "payer_share.rejected", patient_id=line["patient"], object_type="ledger_entry",
                               object_id=line["charge"], detail={"claim": claim_id, "amount": str(line["open"])})
            moved += line["open"]
        await _event(actor, claim_id, "rejected", moved, reason)
