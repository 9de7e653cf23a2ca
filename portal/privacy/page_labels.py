"""How the privacy centre's pages name fields and values for people. The registry's field descriptions are the
export's schema (formats such as E.164 or ISO 8601 belong there); a patient reads "Mobile phone", "Yes" and "at
the front desk" instead, and never a hash or an internal id."""

import re

from portal import display
from portal.i18n import lazy_gettext

# Field -> label on the page, wherever the field occurs; (category, field) where a name means different things.
LABELS = {
    "date_of_birth": lazy_gettext("Date of birth"), "tooth": lazy_gettext("Tooth"), "teeth": lazy_gettext("Teeth"),
    "gender": lazy_gettext("Gender"),
    "phone_mobile": lazy_gettext("Mobile phone"), "phone_other": lazy_gettext("Other phone"),
    "preferred_language": lazy_gettext("Language"), ("guardians", "phone"): lazy_gettext("Guardian's phone"),
    ("appointments", "starts_at"): lazy_gettext("Starts"), ("appointments", "ends_at"): lazy_gettext("Ends"),
    ("consents", "at"): lazy_gettext("When"), ("consents", "granted"): lazy_gettext("Given"),
    ("consents", "actor_kind"): lazy_gettext("Who changed it"), ("requests", "kind"): lazy_gettext("What you asked"),
    ("requests", "received_at"): lazy_gettext("Received"), ("requests", "due_at"): lazy_gettext("Answer due by"),
    ("requests", "details"): lazy_gettext("What was asked"), ("tooth_chart", "tooth"): lazy_gettext("Tooth"),
    ("tooth_chart", "surfaces"): lazy_gettext("Surfaces"), ("tooth_chart", "state"): lazy_gettext("State"),
    ("treatment_plans", "status"): lazy_gettext("State"), ("treatment_plans", "currency"): lazy_gettext("Currency"),
    ("treatment_plans", "tooth"): lazy_gettext("Tooth"), ("images", "kind"): lazy_gettext("Kind of image"),
    ("images", "format"): lazy_gettext("File format"), ("images", "teeth"): lazy_gettext("Teeth shown"),
}
# Shown in the download only: fingerprints and internal numbers mean nothing on a phone.
HIDDEN = {"content_hash", "signed_sha256", "slip_sha256", "amends", ("clinical_notes", "id"), ("images", "id")}
# (category, field) -> the display label table its values go through.
VALUES = {("consents", "source"): "consent_source", ("consents", "actor_kind"): "consent_actor",
          ("consents", "kind"): "consent_kind", ("appointments", "status"): "appointment_status",
          ("requests", "kind"): "privacy_request_kind", ("requests", "status"): "privacy_request_status",
          ("requests", "filed_by_kind"): "consent_actor", ("tooth_chart", "kind"): "finding_kind",
          ("tooth_chart", "state"): "finding_state", ("images", "kind"): "image_kind",
          ("identity", "gender"): "gender", ("contact", "preferred_language"): "language",
          ("guardians", "preferred_language"): "language", ("treatment_plans", "plan_status"): "plan_status"}


# A format named in brackets, in any language: "(E.164)", "(UTC, ISO 8601)", "(FDI)", "(JSON text)".
_FORMAT = re.compile(r"\s*\((?:[^()]*\b(?:ISO|E\.164|UTC|FDI|JSON)\b[^()]*)\)")


def fields_for(category) -> list[tuple[str, str]]:
    """(field, label) pairs the page shows for a category, in the registry's order."""
    name = category.name
    return [(field, LABELS.get((name, field)) or LABELS.get(field) or _FORMAT.sub("", str(description)))
            for field, description in category.fields.items()
            if field not in HIDDEN and (name, field) not in HIDDEN]


def value_for(category_name: str, field: str, value):
    """A stored value as a person reads it: yes/no for true/false, an enum value by its label."""
    if value is True or value is False:
        return display.label("yes" if value else "no", "yes_no")
    kind = VALUES.get((category_name, field))
    return display.label(value, kind) if kind and isinstance(value, str) else value


display.register_labels("yes_no", {"yes": lazy_gettext("Yes"), "no": lazy_gettext("No")})
