"""Appointment statuses: the names, their labels, the groups (active, open, freed, final) and which may follow which."""

from datetime import datetime
from enum import StrEnum

from portal import clock, display
from portal.i18n import N_, _


class Status(StrEnum):
    BOOKED = "booked"
    CONFIRMED = "confirmed"
    ARRIVED = "arrived"
    IN_CHAIR = "in_chair"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


# Still to come: may be confirmed, moved or cancelled, gets reminders, and a patient's reply acts on it.
OPEN = (Status.BOOKED, Status.CONFIRMED)
# Cancelled and no-show free the slot; everything else holds its chair and provider (the exclusion constraints
# of migration 2026-11-24T19 spell the same pair in SQL, as a migration must keep what it created).
FREED = (Status.NO_SHOW, Status.CANCELLED)
ACTIVE = tuple(s for s in Status if s not in FREED)
# Which status may follow which (cancelling is open to the OPEN statuses, with a reason).
NEXT = {
    Status.BOOKED: (Status.CONFIRMED, Status.ARRIVED, Status.NO_SHOW),
    Status.CONFIRMED: (Status.ARRIVED, Status.NO_SHOW),
    Status.ARRIVED: (Status.IN_CHAIR,),
    Status.IN_CHAIR: (Status.COMPLETED,),
    Status.COMPLETED: (),
    Status.NO_SHOW: (),
    Status.CANCELLED: (),
}
FINAL = tuple(s for s in Status if not NEXT[s] and s not in OPEN)
CANCELLABLE = OPEN


def allowed_after(status: str) -> tuple[Status, ...]:
    """What the appointment may become next, cancelling included."""
    current = Status(status)
    return NEXT[current] + ((Status.CANCELLED,) if current in CANCELLABLE else ())


# A visit that has begun: not before the appointment's own day (a patient may come early that morning).
ON_THE_DAY = (Status.ARRIVED, Status.IN_CHAIR, Status.COMPLETED)
# Nobody failed to come before the start has passed.
AFTER_START = (Status.NO_SHOW,)


def not_yet(status: str, starts_at: datetime, now: datetime, zone: str) -> str | None:
    """Why `status` cannot apply yet to an appointment starting at `starts_at` (None when it can)."""
    if status in ON_THE_DAY and clock.local(now, zone).date() < clock.local(starts_at, zone).date():
        return _("This appointment is on a later day: it cannot be marked %(status)s yet.",
                 status=str(label(status)).lower())
    if status in AFTER_START and now < starts_at:
        return _("This appointment has not started yet: it cannot be a no-show.")
    return None


def sql_list(group: tuple[Status, ...]) -> str:
    """A group as an SQL list, e.g. "('booked', 'confirmed')" (enum values only: nothing from outside)."""
    return "(" + ", ".join(f"'{Status(s).value}'" for s in group) + ")"


display.register_labels("appointment_status", {
    Status.BOOKED: N_("Booked"), Status.CONFIRMED: N_("Confirmed"), Status.ARRIVED: N_("Arrived"),
    Status.IN_CHAIR: N_("In chair"),
    Status.COMPLETED: N_("Completed"), Status.NO_SHOW: N_("No-show"), Status.CANCELLED: N_("Cancelled")})
# The button that moves an appointment into a status.
display.register_labels("appointment_action", {
    Status.CONFIRMED: N_("Confirm"), Status.ARRIVED: N_("Arrived"), Status.IN_CHAIR: N_("In chair"),
    Status.COMPLETED: N_("Complete"), Status.NO_SHOW: N_("No-show"), Status.CANCELLED: N_("Cancel appointment")})


def label(status: str) -> str:
    return display.label(status, "appointment_status")
