"""Phone numbers: stored in E.164, read in whatever local form people type, for the clinic's country."""

import phonenumbers


class InvalidPhone(ValueError):
    pass


def to_e164(raw: str, country: str) -> str:
    """Normalise `raw` to E.164 (empty stays empty); raise InvalidPhone for something that is not a number."""
    raw = raw.strip()
    if not raw:
        return ""
    try:
        parsed = phonenumbers.parse(raw, country.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(str(exc)) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone(raw)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def search_prefix(raw: str, country: str) -> str | None:
    """The E.164 prefix a partly typed number stands for ('0612' in NL -> '+31612'), or None if not a phone."""
    digits = "".join(ch for ch in raw if ch.isdigit())
    if len(digits) < 3 or any(ch.isalpha() for ch in raw):
        return None
    stripped = raw.strip()
    if stripped.startswith("+"):
        return "+" + digits
    if stripped.startswith("00"):
        return "+" + digits[2:]
    code = phonenumbers.country_code_for_region(country.upper())
    national = digits[1:] if digits.startswith("0") else digits
    return f"+{code}{national}"


def display(e164: str) -> str:
    if not e164:
        return ""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164
