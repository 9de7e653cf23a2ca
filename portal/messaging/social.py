"""Social leads from Facebook and Instagram lead ads: connecting a clinic's Page (OAuth), the lead-ads webhook,
disconnection with proof, and Meta's data-deletion callback.

The Page token is kept with `credentials` (provider "meta", encrypted, never shown again). A lead arrives as a
`leadgen` change on `/webhooks/meta` (signed like WhatsApp, `X-Hub-Signature-256` with the app secret); its answers
are fetched from the Graph API with the Page token and land once per leadgen id in the clinic's leads inbox.
"""

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from datetime import datetime, timezone
from urllib.parse import urlencode, urlsplit

import httpx
from cryptography.fernet import InvalidToken

from portal import audit, display, patient_fields
from portal.db import transaction
from portal.i18n import N_
from portal.messaging import credentials
from portal.messaging.conversations import MalformedPayload, _scalar, _shape
from portal.permissions import Actor, Permission, require
from portal.settings import Settings
from portal.tables import Clinic, ClinicCredential, Lead, MetaDisconnection, MetaPage, MetaPageInsight

log = logging.getLogger(__name__)
TIMEOUT = httpx.Timeout(15.0)
SCOPES = "pages_show_list,pages_manage_metadata,pages_read_engagement,leads_retrieval"
STATE_SECONDS = 600  # the OAuth dialog must come back within ten minutes
CALLBACK_PATH = "/settings/social/callback"
STATUS_PATH = "/social/deletion/"
display.register_labels("lead_source", {"facebook": N_("Facebook"), "instagram": N_("Instagram")})


class GraphError(Exception):
    """The Graph API refused or could not be reached (shown to the owner as "Meta refused", nothing stored)."""


class PageTaken(Exception):
    """The Page is already connected to another clinic of this portal: one Page feeds one clinic's inbox."""


class StateRefused(Exception):
    """An OAuth `state` that this portal did not sign for this person, or that expired: nothing is exchanged."""


def enabled(settings: Settings) -> bool:
    return bool(settings.meta_app_id and settings.meta_app_secret)


def _graph(settings: Settings, path: str) -> str:
    return f"{settings.meta_graph_url.rstrip('/')}/{settings.meta_graph_version}/{path.lstrip('/')}"


def _dialog_base(settings: Settings) -> str:
    """Facebook's login dialog lives on www.facebook.com; a stand-in Graph server serves it itself."""
    return settings.meta_graph_url.rstrip("/").replace("://graph.", "://www.", 1)


def dialog_origin(settings: Settings) -> str:
    """Where the connect form's answer sends the browser (scheme://host[:port]), for the page's form-action."""
    return urlsplit(_dialog_base(settings))._replace(path="", query="", fragment="").geturl()


def redirect_uri(settings: Settings) -> str:
    return settings.public_url.rstrip("/") + CALLBACK_PATH


def _state_mac(settings: Settings, body: str) -> str:
    return hmac.new(settings.secret_key.encode(), b"meta-oauth:" + body.encode(), hashlib.sha256).hexdigest()


def sign_state(settings: Settings, actor: Actor, now: float | None = None) -> str:
    body = f"{actor.clinic_id}.{actor.id}.{int((now or time.time()) + STATE_SECONDS)}.{secrets.token_hex(8)}"
    return f"{body}.{_state_mac(settings, body)}"


def check_state(settings: Settings, actor: Actor, state: str, now: float | None = None) -> None:
    body, _, mac = state.rpartition(".")
    parts = body.split(".")
    if len(parts) != 4 or not hmac.compare_digest(mac.encode(), _state_mac(settings, body).encode()):
        raise StateRefused("not signed by this portal")
    if parts[0] != str(actor.clinic_id) or parts[1] != str(actor.id):
        raise StateRefused("signed for someone else")
    if not parts[2].isdigit() or int(parts[2]) < (now or time.time()):
        raise StateRefused("expired")


def dialog_url(settings: Settings, actor: Actor) -> str:
    require(actor, Permission.MANAGE_CLINIC)
    query = urlencode({"client_id": settings.meta_app_id, "redirect_uri": redirect_uri(settings),
                       "state": sign_state(settings, actor), "scope": SCOPES, "response_type": "code"})
    return f"{_dialog_base(settings)}/{settings.meta_graph_version}/dialog/oauth?{query}"


async def _call(client: httpx.AsyncClient, method: str, url: str, **kwargs) -> dict:
    try:
        response = await client.request(method, url, timeout=TIMEOUT, **kwargs)
    except httpx.HTTPError as exc:
        raise GraphError(f"{method} {url.split('?')[0]}: {exc}") from exc
    if response.status_code >= 400:
        raise GraphError(f"{method} {url.split('?')[0]}: {response.status_code}")
    try:
        answer = response.json()
    except ValueError as exc:
        raise GraphError("not JSON") from exc
    if not isinstance(answer, dict):
        raise GraphError("not an object")
    return answer


async def pages_for_code(actor: Actor, settings: Settings, code: str, state: str,
                         client: httpx.AsyncClient | None = None) -> tuple[str, list[dict]]:
    """The OAuth callback: check `state`, exchange `code`, list the Pages the person manages (with their tokens).
    Returns (app-scoped user id, pages); nothing is stored yet."""
    require(actor, Permission.MANAGE_CLINIC)
    check_state(settings, actor, state)
    async with httpx.AsyncClient() if client is None else _borrowed(client) as http:
        token = await _call(http, "GET", _graph(settings, "oauth/access_token"), params={
            "client_id": settings.meta_app_id, "client_secret": settings.meta_app_secret,
            "redirect_uri": redirect_uri(settings), "code": code})
        user_token = str(token.get("access_token") or "")
        if not user_token:
            raise GraphError("no access token")
        me = await _call(http, "GET", _graph(settings, "me"), params={"access_token": user_token, "fields": "id"})
        accounts = await _call(http, "GET", _graph(settings, "me/accounts"), params={
            "access_token": user_token, "fields": "id,name,access_token"})
    pages = [{"id": str(p["id"]), "name": str(p.get("name") or "")[:200], "token": str(p["access_token"])}
             for p in accounts.get("data") or [] if isinstance(p, dict) and p.get("id") and p.get("access_token")]
    async with transaction():
        await audit.record(actor, "social.authorised", object_type="meta_page",
                           detail={"pages": [p["id"] for p in pages]})
    return str(me.get("id") or ""), pages


class _borrowed:
    """A caller's client used as a context manager without closing it."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __aenter__(self) -> httpx.AsyncClient:
        return self.client

    async def __aexit__(self, *exc) -> None:
        return None


def seal(settings: Settings, user_id: str, pages: list[dict]) -> str:
    """The Pages offered to choose from, encrypted for the form (tokens never reach the browser readable)."""
    return credentials.fernet(settings).encrypt(json.dumps({"user": user_id, "pages": pages}).encode()).decode()


def unseal(settings: Settings, sealed: str) -> tuple[str, list[dict]]:
    try:
        data = json.loads(credentials.fernet(settings).decrypt(sealed.encode(), ttl=STATE_SECONDS))
    except (InvalidToken, ValueError) as exc:
        raise StateRefused("sealed choice unreadable or expired") from exc
    return data["user"], data["pages"]


async def connect(actor: Actor, settings: Settings, user_id: str, page: dict,
                  client: httpx.AsyncClient | None = None) -> None:
    """Subscribe the app to the Page's lead ads, then keep the Page (id, name) and its token (encrypted)."""
    require(actor, Permission.MANAGE_CLINIC)
    if await MetaPage.exists().where((MetaPage.page_id == page["id"]) & (MetaPage.clinic != actor.clinic_id)):
        raise PageTaken(page["id"])
    async with httpx.AsyncClient() if client is None else _borrowed(client) as http:
        answer = await _call(http, "POST", _graph(settings, f"{page['id']}/subscribed_apps"), data={
            "subscribed_fields": "leadgen", "access_token": page["token"]})
    if answer.get("success") is not True:
        raise GraphError("subscription refused")
    async with transaction():
        await MetaPage.delete().where(MetaPage.clinic == actor.clinic_id)
        await MetaPage.insert(MetaPage(clinic=actor.clinic_id, page_id=page["id"], name=page["name"],
                                       meta_user_id=user_id, connected_at=datetime.now(timezone.utc)))
        await credentials.save(actor, settings, "meta", {"page_id": page["id"], "page_token": page["token"]})
        await audit.record(actor, "social.connected", object_type="meta_page", object_id=page["id"],
                           detail={"name": page["name"]})


async def connection(actor: Actor) -> dict | None:
    require(actor, Permission.MANAGE_CLINIC)
    return await MetaPage.select(MetaPage.page_id, MetaPage.name, MetaPage.connected_at).where(
        MetaPage.clinic == actor.clinic_id).first()


async def disconnections(actor: Actor) -> list[dict]:
    require(actor, Permission.MANAGE_CLINIC)
    return await MetaDisconnection.select().where(MetaDisconnection.clinic == actor.clinic_id).order_by(
        MetaDisconnection.requested_at, ascending=False).limit(10).output(load_json=True)


async def _erase_page(clinic_id: int, page_id: str) -> dict:
    """Delete the Page's token, record, insights and links on leads (inside the caller's transaction); the counts."""
    tokens = await ClinicCredential.delete().where(
        (ClinicCredential.clinic == clinic_id) & (ClinicCredential.provider == "meta")).returning(ClinicCredential.id)
    pages = await MetaPage.delete().where(MetaPage.clinic == clinic_id).returning(MetaPage.id)
    links = await Lead.update({Lead.page_id: None}).where(
        (Lead.clinic == clinic_id) & (Lead.page_id == page_id)).returning(Lead.id)
    insights = await MetaPageInsight.delete().where(MetaPageInsight.clinic == clinic_id).returning(MetaPageInsight.id)
    return {"tokens": len(tokens), "pages": len(pages), "lead_page_links": len(links), "insights": len(insights)}


async def _unsubscribe(settings: Settings, clinic_id: int, client: httpx.AsyncClient | None) -> None:
    """Best effort: tell Meta to stop sending this Page's leads (the token goes either way)."""
    try:
        saved = await credentials.load(settings, clinic_id, "meta")
    except credentials.CredentialsUnreadable:
        return
    if not saved or not enabled(settings):
        return
    try:
        async with httpx.AsyncClient() if client is None else _borrowed(client) as http:
            await _call(http, "DELETE", _graph(settings, f"{saved['page_id']}/subscribed_apps"),
                        params={"access_token": saved["page_token"]})
    except GraphError as exc:
        log.info("meta unsubscribe failed (token deleted anyway): %s", exc)


def _code() -> str:
    return secrets.token_urlsafe(18)


async def disconnect(actor: Actor, settings: Settings, client: httpx.AsyncClient | None = None) -> dict:
    """The owner's disconnection: token, Page record and Page links deleted at once, the counts kept as proof."""
    require(actor, Permission.MANAGE_CLINIC)
    page = await MetaPage.select(MetaPage.page_id, MetaPage.meta_user_id).where(
        MetaPage.clinic == actor.clinic_id).first()
    await _unsubscribe(settings, actor.clinic_id, client)
    async with transaction():
        deleted = await _erase_page(actor.clinic_id, page["page_id"] if page else "")
        await MetaDisconnection.insert(MetaDisconnection(
            clinic=actor.clinic_id, page_id=page["page_id"] if page else "",
            meta_user_id=page["meta_user_id"] if page else "", origin="owner", confirmation_code=_code(),
            requested_at=datetime.now(timezone.utc), deleted=deleted))
        await audit.record(actor, "social.disconnected", object_type="meta_page",
                           object_id=page["page_id"] if page else "", detail={"deleted": deleted})
    return deleted


def read_signed_request(settings: Settings, signed_request: str) -> dict | None:
    """Meta's `signed_request` (base64url HMAC-SHA256 signature '.' base64url JSON payload), or None if forged."""
    if not settings.meta_app_secret or signed_request.count(".") != 1:
        return None
    encoded_sig, encoded_payload = signed_request.split(".")

    def decode(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    try:
        signature, payload = decode(encoded_sig), json.loads(decode(encoded_payload))
    except (ValueError, TypeError):
        return None
    expected = hmac.new(settings.meta_app_secret.encode(), encoded_payload.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected) or not isinstance(payload, dict):
        return None
    if str(payload.get("algorithm", "")).upper() != "HMAC-SHA256" or not payload.get("user_id"):
        return None
    return payload


async def deletion_requested(settings: Settings, user_id: str) -> str:
    """Meta's data-deletion callback for one person: every Page they connected is disconnected at once (token,
    record, links). Returns the confirmation code whose status page a person can open."""
    code = _code()
    async with transaction():
        pages = await MetaPage.select(MetaPage.clinic, MetaPage.page_id).where(MetaPage.meta_user_id == user_id)
        if not pages:
            await MetaDisconnection.insert(MetaDisconnection(
                meta_user_id=user_id, origin="meta", confirmation_code=code,
                requested_at=datetime.now(timezone.utc), deleted={"tokens": 0, "pages": 0, "lead_page_links": 0,
                                                                  "insights": 0}))
        for page in pages:
            deleted = await _erase_page(page["clinic"], page["page_id"])
            await MetaDisconnection.insert(MetaDisconnection(
                clinic=page["clinic"], page_id=page["page_id"], meta_user_id=user_id, origin="meta",
                confirmation_code=code if page is pages[0] else _code(), requested_at=datetime.now(timezone.utc),
                deleted=deleted))
            await audit.record(None, "social.deletion_callback", object_type="meta_page", object_id=page["page_id"],
                               clinic_id=page["clinic"], detail={"deleted": deleted, "code": code})
    return code


def status_url(settings: Settings, code: str) -> str:
    return settings.public_url.rstrip("/") + STATUS_PATH + code


async def deletion_status(code: str) -> dict | None:
    """What a person sees for a confirmation code: when it was asked, what was deleted, when it was checked."""
    return await MetaDisconnection.select(
        MetaDisconnection.requested_at, MetaDisconnection.deleted, MetaDisconnection.verified_at,
        MetaDisconnection.verified).where(MetaDisconnection.confirmation_code == code).output(load_json=True).first()


async def verify_disconnections(now: datetime | None = None) -> int:
    """The periodic check: for each unverified disconnection, delete whatever of the Page is still stored (a
    token saved by a request that raced the disconnection, a record, a link) and keep the counts as proof."""
    now = now or datetime.now(timezone.utc)
    checked = 0
    for row in await MetaDisconnection.select().where(MetaDisconnection.verified_at.is_null()).order_by(
            MetaDisconnection.requested_at):
        async with transaction():
            leftover = {"tokens": 0, "pages": 0, "lead_page_links": 0, "insights": 0}
            clinic_id = row["clinic"]
            if clinic_id is not None:
                current = await MetaPage.select(MetaPage.page_id, MetaPage.connected_at).where(
                    MetaPage.clinic == clinic_id).first()
                reconnected = current is not None and current["connected_at"] > row["requested_at"]
                if not reconnected:
                    leftover = await _erase_page(clinic_id, row["page_id"])
                elif row["page_id"] and row["page_id"] != current["page_id"]:
                    links = await Lead.update({Lead.page_id: None}).where(
                        (Lead.clinic == clinic_id) & (Lead.page_id == row["page_id"])).returning(Lead.id)
                    leftover["lead_page_links"] = len(links)
                    insights = await MetaPageInsight.delete().where(
                        (MetaPageInsight.clinic == clinic_id) & (MetaPageInsight.page_id == row["page_id"])
                    ).returning(MetaPageInsight.id)
                    leftover["insights"] = len(insights)
            await MetaDisconnection.update({MetaDisconnection.verified_at: now,
                                            MetaDisconnection.verified: leftover}).where(
                MetaDisconnection.id == row["id"])
            await audit.record(None, "social.disconnection_verified", object_type="meta_page",
                               object_id=row["page_id"], clinic_id=clinic_id,
                               detail={"leftover_deleted": leftover, "requested_at": row["requested_at"].isoformat()})
        checked += 1
    return checked


# The lead-ads webhook.

def verify_subscription(settings: Settings, mode: str, token: str, challenge: str) -> str | None:
    if mode == "subscribe" and settings.meta_verify_token and hmac.compare_digest(
            token.encode(), settings.meta_verify_token.encode()):
        return challenge
    return None


def read_payload(payload) -> list[tuple[str, str]]:
    """(page id, leadgen id) for each `leadgen` change of a Page webhook POST; the whole body is checked first."""
    found = []
    for entry in _shape(_shape(payload, dict, "payload").get("entry"), list, "entry"):
        entry = _shape(entry, dict, "entry item")
        for change in _shape(entry.get("changes"), list, "changes"):
            change = _shape(change, dict, "change")
            if _scalar(change.get("field"), "field") != "leadgen":
                continue
            value = _shape(change.get("value"), dict, "value")
            page_id = _scalar(value.get("page_id"), "page_id") or _scalar(entry.get("id"), "entry id")
            leadgen_id = _scalar(value.get("leadgen_id"), "leadgen_id")
            if not (page_id.isdigit() and leadgen_id.isdigit() and len(leadgen_id) <= 64 and len(page_id) <= 64):
                raise MalformedPayload("page_id and leadgen_id are numeric ids")
            found.append((page_id, leadgen_id))
    return found


def _answers(lead: dict) -> dict[str, str]:
    answers = {}
    for field in lead.get("field_data") or []:
        if isinstance(field, dict) and isinstance(field.get("name"), str):
            values = [str(v) for v in field.get("values") or [] if isinstance(v, (str, int, float))]
            answers[field["name"][:100]] = ", ".join(values)[:1000]
    return answers


def _contact(answers: dict[str, str], country: str) -> tuple[str | None, str, str]:
    """(E.164 phone or None, email or '', name) from the standard lead-form questions."""
    phone, email = None, ""
    try:
        phone = patient_fields.phone(answers.get("phone_number", ""), country) or None
    except patient_fields.FieldProblem:
        phone = None
    try:
        email = patient_fields.email(answers.get("email", ""))
    except patient_fields.FieldProblem:
        email = ""
    name = answers.get("full_name") or " ".join(
        x for x in (answers.get("first_name", ""), answers.get("last_name", "")) if x)
    return phone, email, name[:200]


async def receive(settings: Settings, changes: list[tuple[str, str]], client: httpx.AsyncClient | None = None) -> int:
    """Fetch and keep each new lead (once per leadgen id, retries and replays are skipped before any fetch)."""
    new = 0
    for page_id, leadgen_id in changes:
        page = await MetaPage.select(MetaPage.clinic).where(MetaPage.page_id == page_id).first()
        if page is None or await Lead.exists().where(Lead.leadgen_id == leadgen_id):
            continue
        saved = await credentials.load(settings, page["clinic"], "meta")
        if not saved or saved.get("page_id") != page_id:
            continue
        try:
            async with httpx.AsyncClient() if client is None else _borrowed(client) as http:
                lead = await _call(http, "GET", _graph(settings, leadgen_id), params={
                    "access_token": saved["page_token"], "fields": "id,created_time,field_data,form_id,platform"})
        except GraphError as exc:
            log.warning("meta lead %s not fetched: %s", leadgen_id, exc)
            continue
        new += await _keep(page["clinic"], page_id, leadgen_id, lead)
    return new


async def _keep(clinic_id: int, page_id: str, leadgen_id: str, lead: dict) -> int:
    clinic = await Clinic.select(Clinic.country).where(Clinic.id == clinic_id).first()
    answers = _answers(lead)
    phone, email, name = _contact(answers, clinic["country"])
    source = "instagram" if str(lead.get("platform", "")).lower() in ("ig", "instagram") else "facebook"
    if phone is None and not email:
        log.info("meta lead %s has neither phone nor email: not kept", leadgen_id)
        return 0
    async with transaction():
        if await Lead.exists().where(Lead.leadgen_id == leadgen_id):
            return 0
        existing = await Lead.select(Lead.id, Lead.answers, Lead.leadgen_id).where(
            (Lead.clinic == clinic_id) & (((Lead.phone == phone) if phone else (Lead.id == -1))
                                          | ((Lead.email == email) if email else (Lead.id == -1)))).first()
        if existing is None:
            rows = await Lead.insert(Lead(clinic=clinic_id, phone=phone, email=email, name=name, source=source,
                                          answers=answers, leadgen_id=leadgen_id, page_id=page_id,
                                          created_at=datetime.now(timezone.utc))).returning(Lead.id)
            lead_id = rows[0]["id"]
        else:  # the same person wrote before: their form answers join that lead
            lead_id = existing["id"]
            merged = {**(existing["answers"] if isinstance(existing["answers"], dict) else
                         json.loads(existing["answers"] or "{}")), **answers}
            changes = {Lead.answers: merged, Lead.source: source, Lead.page_id: page_id}
            if existing["leadgen_id"] is None:
                changes[Lead.leadgen_id] = leadgen_id
            await Lead.update(changes).where(Lead.id == lead_id)
        await audit.record(None, f"{source}.lead_received", object_type="lead", object_id=lead_id,
                           clinic_id=clinic_id, detail={"leadgen_id": leadgen_id, "questions": sorted(answers)})
    return 1


def lead_answers(lead: dict) -> dict:
    value = lead.get("answers") or {}
    return json.loads(value) if isinstance(value, str) else value
