"""The patient record's fields: one cleaning rule each, shared by staff edits, the privacy centre and corrections.

A rule takes what a person typed (and the clinic's country, for phones) and returns the value to store, or
raises FieldProblem with the message shown beside the field. Nothing is cut to fit: over-long text is refused.
`FIELDS` declares every field a patient may ask to correct, with the label people read.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from portal import display, phones
from portal.errors import ValidationFailed
from portal.forms import email_problem, parse_date, too_long
from portal.i18n import gettext, lazy_gettext

GENDERS = {"": lazy_gettext("Not stated"), "female": lazy_gettext("Female"), "male": lazy_gettext("Male"),
           "other": lazy_gettext("Other")}
LANGUAGES = {"en": "English", "nl": "Nederlands", "de": "Deutsch", "fr": "Français", "es": "Español",
             "it": "Italiano", "pt": "Português", "pl": "Polski", "tr": "Türkçe", "ar": "العربية"}
display.register_labels("gender", GENDERS)
display.register_labels("language", LANGUAGES)
PHONE_MESSAGE = lazy_gettext("Enter a phone number we can dial, e.g. +31 6 1234 5678.")


class FieldProblem(ValueError):
    """What is wrong with a typed value, in words for the person who typed it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def text(raw: str, limit: int, label: str | None = None) -> str:
    """Trimmed text of at most `limit` characters; `label` makes it required."""
    value = raw.strip()
    if label and not value:
        raise FieldProblem(f"{label} is required.")
    if problem := too_long(value, limit):
        raise FieldProblem(problem)
    return value


def email(raw: str) -> str:
    if problem := email_problem(raw, optional=True):
        raise FieldProblem(problem)
    return raw.strip().lower()


def phone(raw: str, country: str) -> str:
    """E.164, read in the local forms people type for the clinic's country (empty stays empty)."""
    try:
        return phones.to_e164(raw, country)
    except phones.InvalidPhone:
        raise FieldProblem(PHONE_MESSAGE) from None


def birth_date(raw: str, today: date | None = None) -> date:
    if not raw.strip():
        raise FieldProblem(gettext("Enter the date of birth."))
    if (born := parse_date(raw)) is None:
        raise FieldProblem(gettext("Enter a real date, e.g. 1984-03-21."))
    if born > (today or date.today()):
        raise FieldProblem(gettext("The date of birth cannot be in the future."))
    if born.year < 1900:
        raise FieldProblem(gettext("Check the year of birth."))
    return born


def choice(raw: str, allowed: dict[str, str]) -> str:
    """One of `allowed`'s keys; a typed label ("Female", "Nederlands") stands for its key."""
    value = raw.strip()
    by_label = {label.casefold(): key for key, label in allowed.items()}
    if value in allowed or value.casefold() in by_label:
        return value if value in allowed else by_label[value.casefold()]
    raise FieldProblem(gettext("Choose one of: %(choices)s.",
                               choices=", ".join(str(label) for key, label in allowed.items() if key)))


# National identity numbers: the format per country, and a check digit where the country has one.
NATIONAL_ID_FORMATS = {
    "NL": ("BSN", r"\d{9}"),
    "TR": ("T.C. Kimlik No", r"[1-9]\d{10}"),
    "DE": ("Steuer-ID", r"\d{11}"),
    "AT": ("Sozialversicherungsnummer", r"\d{10}"),
    "SG": ("NRIC/FIN", r"[STFGM]\d{7}[A-Z]"),
}


def _bsn_checks(digits: str) -> bool:
    """The Dutch eleven-test: 9·d1 + 8·d2 + … + 2·d8 − d9 is a multiple of 11."""
    total = sum(int(d) * weight for d, weight in zip(digits[:8], range(9, 1, -1), strict=True)) - int(digits[8])
    return total % 11 == 0 and digits != "000000000"


def _kimlik_checks(digits: str) -> bool:
    """T.C. Kimlik: the 10th and 11th digits are checksums of the first nine and of the first ten."""
    d = [int(c) for c in digits]
    tenth = ((d[0] + d[2] + d[4] + d[6] + d[8]) * 7 - (d[1] + d[3] + d[5] + d[7])) % 10
    return d[9] == tenth and d[10] == sum(d[:10]) % 10


NATIONAL_ID_CHECKS = {"NL": _bsn_checks, "TR": _kimlik_checks}


def national_id(raw: str, country: str) -> str:
    """The number without spaces, dots or dashes, in the clinic country's format and passing its check digit."""
    value = re.sub(r"[\s.\-]", "", raw).upper()
    if not value:
        return ""
    name, pattern = NATIONAL_ID_FORMATS.get(country, ("national ID number", r"[A-Z0-9]{4,20}"))
    if not re.fullmatch(pattern, value):
        raise FieldProblem(gettext("This is not a valid %(name)s: check the number of characters.", name=name))
    if (check := NATIONAL_ID_CHECKS.get(country)) and not check(value):
        raise FieldProblem(gettext("This %(name)s fails its check digit: look for a typing error.", name=name))
    return value


# Postcodes per country (ISO 3166-1): the pattern typed values must match after spaces are tidied, and an example.
POSTCODE_FORMATS = {
    "NL": (r"[1-9]\d{3} [A-Z]{2}", "1012 AB"),
    "DE": (r"\d{5}", "10115"),
    "TR": (r"(0[1-9]|[1-7]\d|8[01])\d{3}", "34710"),  # the first two digits are one of the 81 provinces
    "BE": (r"[1-9]\d{3}", "1000"),
    "AT": (r"[1-9]\d{3}", "1010"),
    "GB": (r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}", "SW1A 1AA"),
}
COUNTRIES = {"": lazy_gettext("The clinic's country"), "NL": lazy_gettext("Netherlands"),
             "DE": lazy_gettext("Germany"), "TR": lazy_gettext("Turkey"), "BE": lazy_gettext("Belgium"),
             "AT": lazy_gettext("Austria"), "GB": lazy_gettext("United Kingdom"),
             "FR": lazy_gettext("France"), "ES": lazy_gettext("Spain"), "IT": lazy_gettext("Italy"),
             "PL": lazy_gettext("Poland")}
display.register_labels("country", COUNTRIES)


def postcode(raw: str, country: str) -> str:
    """The postcode in its country's written form ("1012ab" becomes "1012 AB" in NL); others by a loose format."""
    value = re.sub(r"\s+", " ", raw.strip().upper())
    if not value:
        return ""
    if country == "NL":
        value = re.sub(r"^(\d{4}) ?([A-Z]{2})$", r"\1 \2", value)
    if country == "GB":
        value = re.sub(r"^(\S+?) ?(\d[A-Z]{2})$", r"\1 \2", value)
    pattern, example = POSTCODE_FORMATS.get(country, (r"[A-Z0-9][A-Z0-9 \-]{1,10}", ""))
    if not re.fullmatch(pattern, value):
        if example:
            raise FieldProblem(gettext("Enter a postcode written like %(example)s.", example=example))
        raise FieldProblem(gettext("Enter the postcode in letters and digits."))
    return value


@dataclass(frozen=True)
class PatientField:
    name: str  # the column on the patient table
    label: str  # what people read
    category: str  # the privacy category that shows it
    clean: Callable[[str, str], object]  # (typed, clinic country) -> value to store; raises FieldProblem


FIELDS: dict[str, PatientField] = {f.name: f for f in (
    PatientField("given_name", lazy_gettext("Given name"), "identity", lambda v, _c: text(v, 120, "Given name")),
    PatientField("family_name", lazy_gettext("Family name"), "identity", lambda v, _c: text(v, 120, "Family name")),
    PatientField("date_of_birth", lazy_gettext("Date of birth"), "identity", lambda v, _c: birth_date(v)),
    PatientField("gender", lazy_gettext("Gender"), "identity", lambda v, _c: choice(v, GENDERS)),
    PatientField("national_id", lazy_gettext("National ID number"), "identity", national_id),
    PatientField("email", lazy_gettext("Email address"), "contact", lambda v, _c: email(v)),
    PatientField("phone_mobile", lazy_gettext("Mobile phone"), "contact", phone),
    PatientField("phone_other", lazy_gettext("Other phone"), "contact", phone),
    PatientField("address", lazy_gettext("Street and number"), "contact", lambda v, _c: text(v, 500)),
    PatientField("postcode", lazy_gettext("Postcode"), "contact", postcode),  # clean() uses the address's country
    PatientField("city", lazy_gettext("City"), "contact", lambda v, _c: text(v, 120)),
    PatientField("country", lazy_gettext("Country"), "contact", lambda v, _c: choice(v, COUNTRIES)),
    PatientField("preferred_language", lazy_gettext("Preferred language"), "contact", lambda v, _c: choice(v,
                                                                                                           LANGUAGES)),
)}


def clean_one(name: str, typed: str, country: str):
    """The value to store for one field (KeyError for a field that is not on the patient record)."""
    return FIELDS[name].clean(typed, country)


def clean(typed: dict[str, str], country: str) -> dict[str, object]:
    """Every given field cleaned by its rule; ValidationFailed names each field with a problem."""
    values, errors = {}, {}
    if "country" in typed and "postcode" in typed:  # the country first: the postcode is read by its rules
        typed = {"country": typed["country"], **{k: v for k, v in typed.items() if k != "country"}}
    for name, raw in typed.items():
        # The postcode follows the address's country (the clinic's when none is chosen).
        where = (values.get("country") or country) if name == "postcode" else country
        try:
            values[name] = clean_one(name, raw, where)
        except FieldProblem as problem:
            errors[name] = problem.message
    if errors:
        raise ValidationFailed(errors)
    return values


def labels(names: tuple[str, ...]) -> dict[str, str]:
    """The human labels of some patient fields, in the order given (for a category's `correctable`)."""
    return {name: FIELDS[name].label for name in names}
