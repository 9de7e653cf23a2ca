"""Social leads against the stand-in Graph API: connecting a Page by OAuth (a forged or foreign state refused),
the signed lead-ads webhook (good, bad, missing, replayed), leads converted into patients with their answers in the
access page, disconnection that leaves no token (at once and after the job), and Meta's data-deletion callback."""

import base64
import hashlib
import hmac
import json
from dataclasses import replace
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from portal.app import create_app
from portal.messaging import social
from portal.permissions import Role
from portal.privacy.registry import CATEGORIES
from portal.tables import AuditEntry, ClinicCredential, Lead, MetaDisconnection, MetaPage
from tests import factories
from tests.factories import sign_in_as
from tests.meta_stub import APP_ID, APP_SECRET, OTHER_PAGE, PAGE_ID, PAGE_NAME, PAGE_TOKEN, USER_ID

BASE = "http://testserver"
VERIFY = "verify-me"


@pytest.fixture
def meta_settings(settings, meta):
    return replace(settings, meta_app_id=APP_ID, meta_app_secret=APP_SECRET, meta_graph_url=meta.url,
                   meta_verify_token=VERIFY, public_url=BASE)


@pytest.fixture
async def web(meta_settings):
    app = create_app(meta_settings, manage_pool=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


def _signed(body: bytes, secret: str = APP_SECRET) -> dict:
    return {"X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json"}


def _leadgen(leadgen_id: str, page_id: str = PAGE_ID) -> bytes:
    return json.dumps({"object": "page", "entry": [{"id": page_id, "time": 1764489600, "changes": [{
        "field": "leadgen", "value": {"leadgen_id": leadgen_id, "page_id": page_id, "form_id": "555",
                                      "created_time": 1764489600}}]}]}).encode()


async def _connect(web, clinic, meta) -> httpx.Response:
    await sign_in_as(web, clinic)
    started = await factories.post_form(web, "/settings/social/connect")
    assert started.status_code == 303
    target = urlsplit(started.headers["location"])
    q = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert target.path == "/v21.0/dialog/oauth" and q["client_id"] == APP_ID
    assert q["redirect_uri"] == BASE + "/settings/social/callback" and "leads_retrieval" in q["scope"]
    code = meta.grant(q["redirect_uri"])
    return await web.get("/settings/social/callback", params={"code": code, "state": q["state"]})


async def test_off_until_configured_and_shown_as_off(client, clinic):
    await sign_in_as(client, clinic)
    page = await client.get("/settings/social")
    assert page.status_code == 200 and "META_APP_ID" in page.text
    refused = await factories.post_form(client, "/settings/social/connect")
    assert refused.status_code == 409


async def test_connect_stores_token_encrypted_and_subscribes(web, clinic, meta, meta_settings):
    answer = await _connect(web, clinic, meta)
    assert answer.status_code == 303, answer.text
    assert meta.subscribed == {PAGE_ID: "leadgen"}
    page = await MetaPage.select().where(MetaPage.clinic == clinic.clinic_id).first()
    assert page["page_id"] == PAGE_ID and page["name"] == PAGE_NAME and page["meta_user_id"] == USER_ID
    row = await ClinicCredential.select().where(ClinicCredential.provider == "meta").first()
    assert PAGE_TOKEN not in row["ciphertext"]
    from portal.messaging import credentials
    assert (await credentials.load(meta_settings, clinic.clinic_id, "meta"))["page_token"] == PAGE_TOKEN
    shown = await web.get("/settings/social")
    assert PAGE_NAME in shown.text and PAGE_TOKEN not in shown.text


async def test_forged_foreign_or_expired_state_is_refused(web, clinic, meta, meta_settings):
    await sign_in_as(web, clinic)
    other = await factories.make_staff(clinic, Role.OWNER)  # the same clinic, another person
    states = ["", "1.1.9999999999.abcd.deadbeef", social.sign_state(replace(meta_settings, secret_key="x" * 40),
                                                                      clinic)]
    states.append(social.sign_state(meta_settings, other))
    states.append(social.sign_state(meta_settings, clinic, now=1_000_000))  # expired long ago
    for state in states:
        code = meta.grant(BASE + "/settings/social/callback", code=f"code-{len(state)}")
        answer = await web.get("/settings/social/callback", params={"code": code, "state": state})
        assert answer.status_code == 400, state
        assert code in meta.codes  # never exchanged
    assert await MetaPage.count() == 0 and await ClinicCredential.count() == 0
    cancelled = await web.get("/settings/social/callback", params={"error": "access_denied", "state": states[-1]})
    assert cancelled.status_code == 200 and "cancelled" in cancelled.text and await MetaPage.count() == 0


async def test_several_pages_are_offered_and_the_choice_is_sealed(web, clinic, meta):
    meta.pages.append(OTHER_PAGE)
    offered = await _connect(web, clinic, meta)
    assert offered.status_code == 200 and "Second Page" in offered.text and PAGE_TOKEN not in offered.text
    sealed = offered.text.split('name="sealed" value="')[1].split('"')[0]
    forged = await factories.post_form(web, "/settings/social/choose", {"sealed": sealed[:-4] + "AAAA",
                                                                        "page_id": OTHER_PAGE["id"]})
    assert forged.status_code == 400 and await MetaPage.count() == 0
    chosen = await factories.post_form(web, "/settings/social/choose", {"sealed": sealed, "page_id": OTHER_PAGE["id"]})
    assert chosen.status_code == 303 and meta.subscribed == {OTHER_PAGE["id"]: "leadgen"}


async def test_webhook_handshake(web):
    ok = await web.get("/webhooks/meta", params={"hub.mode": "subscribe", "hub.verify_token": VERIFY,
                                                 "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    bad = await web.get("/webhooks/meta", params={"hub.mode": "subscribe", "hub.verify_token": "nope",
                                                  "hub.challenge": "1"})
    assert bad.status_code == 403


async def test_leads_arrive_once_signed_and_convert_with_answers(web, clinic, meta):
    assert (await _connect(web, clinic, meta)).status_code == 303
    meta.add_lead("9001", {"full_name": "Eva de Vries", "email": "eva@example.org", "phone_number": "06 1111 2222",
                           "what_treatment": "Whitening"})
    meta.add_lead("9002", {"full_name": "Deniz Kaya", "email": "deniz@example.org"}, platform="ig")
    body = _leadgen("9001")
    assert (await web.post("/webhooks/meta", content=body, headers={"Content-Type": "application/json"})
            ).status_code == 403  # missing
    assert (await web.post("/webhooks/meta", content=body, headers=_signed(body, "wrong"))).status_code == 403
    assert await Lead.count() == 0 and meta.fetched == []
    assert (await web.post("/webhooks/meta", content=body, headers=_signed(body))).status_code == 200
    assert (await web.post("/webhooks/meta", content=body, headers=_signed(body))).status_code == 200  # replayed
    second = _leadgen("9002")
    assert (await web.post("/webhooks/meta", content=second, headers=_signed(second))).status_code == 200
    assert meta.fetched == ["9001", "9002"]  # the replay was not even fetched
    leads = {r["leadgen_id"]: r for r in await Lead.select().output(load_json=True)}
    assert len(leads) == 2
    eva = leads["9001"]
    assert eva["source"] == "facebook" and eva["phone"] == "+31611112222" and eva["email"] == "eva@example.org"
    assert eva["answers"]["what_treatment"] == "Whitening" and eva["name"] == "Eva de Vries"
    assert leads["9002"]["source"] == "instagram" and leads["9002"]["phone"] is None
    inbox = await web.get("/leads")
    assert "Whitening" in inbox.text and "Instagram" in inbox.text
    converted = await factories.post_form(web, f"/leads/{eva['id']}/convert", {
        "given_name": "Eva", "family_name": "de Vries", "date_of_birth": "1990-02-03"})
    assert converted.status_code == 303, converted.text
    patient_id = (await Lead.select(Lead.patient).where(Lead.id == eva["id"]).first())["patient"]
    category = CATEGORIES["social_leads"]
    [row] = await category.collect(patient_id)
    assert row["source"] == "facebook" and "what_treatment: Whitening" in row["answers"]
    assert await category.erase(patient_id) == 1
    assert await AuditEntry.exists().where(AuditEntry.action == "facebook.lead_received")


async def test_lead_of_an_unconnected_page_is_ignored(web, clinic, meta):
    meta.add_lead("9100", {"email": "x@example.org"})
    body = _leadgen("9100")
    assert (await web.post("/webhooks/meta", content=body, headers=_signed(body))).status_code == 200
    assert await Lead.count() == 0 and meta.fetched == []


async def test_disconnect_leaves_no_token_at_once_and_after_the_job(web, clinic, meta, meta_settings):
    assert (await _connect(web, clinic, meta)).status_code == 303
    done = await factories.post_form(web, "/settings/social/disconnect")
    assert done.status_code == 303
    assert await ClinicCredential.count() == 0 and await MetaPage.count() == 0 and meta.subscribed == {}
    [proof] = await MetaDisconnection.select().output(load_json=True)
    assert proof["deleted"] == {"tokens": 1, "pages": 1, "lead_page_links": 0, "insights": 0}
    assert proof["origin"] == "owner"
    assert await AuditEntry.exists().where(AuditEntry.action == "social.disconnected")
    # A token that a racing request saved after the disconnection: the job finds and deletes it.
    from portal.messaging import credentials
    await credentials.save(clinic, meta_settings, "meta", {"page_id": PAGE_ID, "page_token": PAGE_TOKEN})
    assert await social.verify_disconnections() == 1
    assert await ClinicCredential.count() == 0
    [proof] = await MetaDisconnection.select().output(load_json=True)
    assert proof["verified_at"] is not None and proof["verified"]["tokens"] == 1
    assert await social.verify_disconnections() == 0
    page = await web.get("/settings/social")
    assert "Connect with Facebook" in page.text


def _signed_request(payload: dict, secret: str = APP_SECRET) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    encoded = b64(json.dumps(payload).encode())
    return b64(hmac.new(secret.encode(), encoded.encode(), hashlib.sha256).digest()) + "." + encoded


async def test_deletion_callback_verifies_deletes_and_answers_a_status_page(web, clinic, meta):
    assert (await _connect(web, clinic, meta)).status_code == 303
    payload = {"algorithm": "HMAC-SHA256", "expires": 1764489600, "issued_at": 1764486000, "user_id": USER_ID}
    for forged in [_signed_request(payload, "wrong"), "abc", _signed_request({**payload, "algorithm": "none"}), ""]:
        answer = await web.post("/webhooks/meta/deletion", data={"signed_request": forged})
        assert answer.status_code in (400, 403), forged
    assert await ClinicCredential.count() == 1
    answer = await web.post("/webhooks/meta/deletion", data={"signed_request": _signed_request(payload)})
    assert answer.status_code == 200
    body = answer.json()
    assert body["url"] == f"{BASE}/social/deletion/{body['confirmation_code']}"
    assert await ClinicCredential.count() == 0 and await MetaPage.count() == 0
    status = await httpx.AsyncClient(transport=web._transport, base_url=BASE).get(
        urlsplit(body["url"]).path)  # a fresh visitor, no session
    assert status.status_code == 200 and body["confirmation_code"] in status.text
    assert (await web.get("/social/deletion/not-a-code")).status_code == 404
    await social.verify_disconnections(datetime.now(timezone.utc))
    assert "nothing is left" in (await web.get(urlsplit(body["url"]).path)).text


async def test_a_page_connected_elsewhere_is_refused(web, clinic, other_clinic, meta):
    await MetaPage.insert(MetaPage(clinic=other_clinic.clinic_id, page_id=PAGE_ID, name="Elsewhere",
                                   connected_at=datetime.now(timezone.utc)))
    answer = await _connect(web, clinic, meta)
    assert answer.status_code == 409 and meta.subscribed == {}
    assert await ClinicCredential.count() == 0 and await MetaPage.count() == 1


async def test_the_connect_form_may_send_the_browser_on_to_metas_dialog(web, clinic, meta):
    """Browsers check form-action against the redirect too, and no XHR may follow it to another site: the page
    allows Meta's dialog as a form target and the form is a whole-page navigation (tests/browser journey)."""
    await sign_in_as(web, clinic)
    page = await web.get("/settings/social")
    assert f"form-action 'self' {meta.url};" in page.headers["content-security-policy"]
    assert "script-src 'self';" in page.headers["content-security-policy"]
    assert 'action="/settings/social/connect" hx-boost="false"' in page.text
