"""Small checks shared by every form: required text, email shape, dates. Each returns a message or None.

Messages are translated into the current language (portal/i18n.py); pass a `label` already translated."""

import re
from datetime import date

from portal.i18n import gettext as _
from portal.i18n import ngettext

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def required(value: str, label: str | None = None) -> str | None:
    if value.strip():
        return None
    return _("%(field)s is required.", field=label) if label else _("This field is required.")


def email_problem(value: str, optional: bool = False) -> str | None:
    value = value.strip()
    if not value:
        return None if optional else _("Email is required.")
    if len(value) > 320 or not _EMAIL.match(value):
        return _("Enter an email address like name@example.com.")
    return None


def parse_date(value: str) -> date | None:
    """ISO dates from <input type=date>, and the day-first forms people type into search boxes."""
    value = value.strip()
    for pattern, order in ((r"^(\d{4})-(\d{1,2})-(\d{1,2})$", "ymd"),
                           (r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$", "dmy")):
        if m := re.match(pattern, value):
            parts = [int(p) for p in m.groups()]
            y, mo, d = parts if order == "ymd" else (parts[2], parts[1], parts[0])
            if not 1900 <= y <= 2200:  # nothing in a dental practice lies outside; keeps date maths safe
                return None
            try:
                return date(y, mo, d)
            except ValueError:
                return None
    return None


def whole_number(text: str) -> int | None:
    """A plain ASCII number that fits PostgreSQL's integer, or None (so '²' or 10**12 are not ids)."""
    text = text.strip()
    if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= 2_147_483_647:
        return int(text)
    return None


def too_long(value: str, limit: int) -> str | None:
    if len(value) <= limit:
        return None
    return ngettext("Use at most %(num)s character.", "Use at most %(num)s characters.", limit)


def collect(**checks: str | None) -> dict[str, str]:
    """Keep only the fields that have a problem."""
    return {field: message for field, message in checks.items() if message}
