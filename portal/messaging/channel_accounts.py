"""Each clinic's own SMS (Twilio-style) and WhatsApp (Cloud API) accounts: saved encrypted through `credentials`,
never shown again, and resolved for sending and for checking the provider's signature on inbound webhooks.

A clinic that saved no account of its own uses the shared one from the environment (SMS_ACCOUNT_SID/SMS_AUTH_TOKEN,
WHATSAPP_TOKEN/WHATSAPP_APP_SECRET), as the settings and the sending number have always documented ("empty for the
shared SMS_FROM"). A clinic that saved its own account uses only that one: its webhooks are checked with its own
token or app secret, never the shared one, so a leak of the shared secret cannot forge that clinic's messages.
"""

import re
from dataclasses import dataclass

from portal.errors import ValidationFailed
from portal.i18n import _
from portal.messaging import credentials
from portal.permissions import Actor, Permission, require
from portal.settings import Settings
from portal.tables import Clinic, ClinicCredential

PROVIDERS = ("sms", "whatsapp")
ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
SECRET = re.compile(r"^[\x21-\x7e]{8,500}$")  # printable, no spaces: what providers issue as tokens and secrets


@dataclass(frozen=True)
class SmsAccount:
    account_sid: str
    auth_token: str
    sender: str  # E.164: the clinic's own number, or the shared SMS_FROM


@dataclass(frozen=True)
class WhatsAppAccount:
    token: str
    phone_number_id: str
    app_secret: str


async def _saved(settings: Settings, clinic_id: int, provider: str) -> dict[str, str] | None:
    """The clinic's own values; unreadable ones (the key changed) count as saved but unusable: {}."""
    try:
        return await credentials.load(settings, clinic_id, provider)
    except credentials.CredentialsUnreadable:
        return {}


def _shared_sms(settings: Settings) -> bool:
    return bool(settings.sms_account_sid and settings.sms_auth_token and settings.sms_from)


def _shared_whatsapp(settings: Settings) -> bool:
    return bool(settings.whatsapp_token and settings.whatsapp_phone_number_id)


def shared(settings: Settings, provider: str) -> bool:
    """Whether the environment holds a complete shared account for this channel (SMS_*, WHATSAPP_*)."""
    return _shared_sms(settings) if provider == "sms" else _shared_whatsapp(settings)


async def sms_account(settings: Settings, clinic_id: int | None) -> SmsAccount | None:
    """The account a clinic's texts go out through, or None when SMS is off for that clinic."""
    number = ""
    if clinic_id is not None:
        row = await Clinic.select(Clinic.sms_number).where(Clinic.id == clinic_id).first()
        number = row["sms_number"] if row else ""
        saved = await _saved(settings, clinic_id, "sms")
        if saved is not None:  # its own account: only with its own number (the shared sender is not on it)
            if saved.get("account_sid") and saved.get("auth_token") and number:
                return SmsAccount(saved["account_sid"], saved["auth_token"], number)
            return None
    if _shared_sms(settings):
        return SmsAccount(settings.sms_account_sid, settings.sms_auth_token, number or settings.sms_from)
    return None


async def sms_token_for_number(settings: Settings, to: str) -> str:
    """The auth token Twilio signs a webhook with for a text to `to`: the owning clinic's own token if it saved
    one, else the shared token ('' when there is none, which no signature matches)."""
    row = await Clinic.select(Clinic.id).where((Clinic.sms_number == to) & (Clinic.sms_number != "")).first()
    if row is not None:
        saved = await _saved(settings, row["id"], "sms")
        if saved is not None:
            return saved.get("auth_token", "")
    return settings.sms_auth_token


async def twilio_account(settings: Settings, clinic_id: int | None) -> tuple[str, str]:
    """(account SID, auth token) a clinic's calls are signed, fetched and deleted with: its own account when it
    saved one (never the shared one then), else the shared SMS_ACCOUNT_SID/SMS_AUTH_TOKEN."""
    if clinic_id is not None:
        saved = await _saved(settings, clinic_id, "sms")
        if saved is not None:
            return saved.get("account_sid", ""), saved.get("auth_token", "")
    return settings.sms_account_sid, settings.sms_auth_token


async def whatsapp_account(settings: Settings, clinic_id: int | None) -> WhatsAppAccount | None:
    """The account a clinic's WhatsApp messages go out through, or None when WhatsApp is off for that clinic."""
    number_id = ""
    if clinic_id is not None:
        row = await Clinic.select(Clinic.whatsapp_phone_number_id).where(Clinic.id == clinic_id).first()
        number_id = row["whatsapp_phone_number_id"] if row else ""
        saved = await _saved(settings, clinic_id, "whatsapp")
        if saved is not None:
            if saved.get("token") and number_id:
                return WhatsAppAccount(saved["token"], number_id, saved.get("app_secret", ""))
            return None
    if _shared_whatsapp(settings):
        return WhatsAppAccount(settings.whatsapp_token, number_id or settings.whatsapp_phone_number_id,
                               settings.whatsapp_app_secret)
    return None


async def whatsapp_secret_for_number(settings: Settings, number_id: str) -> str:
    """The app secret Meta signs a webhook about `number_id` with: the owning clinic's own, else the shared one."""
    row = await Clinic.select(Clinic.id).where(
        (Clinic.whatsapp_phone_number_id == number_id) & (Clinic.whatsapp_phone_number_id != "")).first()
    if row is not None:
        saved = await _saved(settings, row["id"], "whatsapp")
        if saved is not None:
            return saved.get("app_secret", "")
    return settings.whatsapp_app_secret


async def clinics_with_own(provider: str) -> list[int]:
    rows = await ClinicCredential.select(ClinicCredential.clinic).where(ClinicCredential.provider == provider)
    return [row["clinic"] for row in rows]


async def in_use(settings: Settings, provider: str) -> bool:
    """Whether any clinic can send over this channel (the shared account, or one clinic's own)."""
    return shared(settings, provider) or bool(await clinics_with_own(provider))


async def save_sms(actor: Actor, settings: Settings, account_sid: str, auth_token: str) -> None:
    """Store the clinic's own Twilio-style account (encrypted); the token is never shown again."""
    require(actor, Permission.MANAGE_CLINIC)
    account_sid, auth_token = account_sid.strip(), auth_token.strip()
    errors = {}
    if not ACCOUNT_SID.match(account_sid):
        errors["account_sid"] = _("The account SID starts with AC followed by 32 letters and digits.")
    if not SECRET.match(auth_token):
        errors["auth_token"] = _("Paste the auth token from the provider's console (at least 8 characters).")
    if errors:
        raise ValidationFailed(errors)
    await credentials.save(actor, settings, "sms", {"account_sid": account_sid, "auth_token": auth_token})


async def save_whatsapp(actor: Actor, settings: Settings, token: str, app_secret: str) -> None:
    """Store the clinic's own WhatsApp Cloud API access token and app secret (encrypted), never shown again."""
    require(actor, Permission.MANAGE_CLINIC)
    token, app_secret = token.strip(), app_secret.strip()
    errors = {}
    if not SECRET.match(token):
        errors["whatsapp_token"] = _("Paste the access token from Meta's WhatsApp Manager.")
    if not SECRET.match(app_secret):
        errors["app_secret"] = _("Paste the app secret from the app's basic settings at Meta.")
    if errors:
        raise ValidationFailed(errors)
    await credentials.save(actor, settings, "whatsapp", {"token": token, "app_secret": app_secret})


async def forget(actor: Actor, provider: str) -> bool:
    if provider not in PROVIDERS:
        raise ValueError(provider)
    return await credentials.forget(actor, provider)


async def overview(actor: Actor, settings: Settings) -> dict[str, dict]:
    """Per channel: the clinic's own account saved (and when) or not, and whether the shared one stands in."""
    saved = await credentials.overview(actor)
    return {provider: {"own": provider in saved, "saved_at": saved.get(provider, {}).get("saved_at"),
                       "shared": shared(settings, provider)} for provider in PROVIDERS}
