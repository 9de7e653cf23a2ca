"""Pages are gzipped and their CSRF token is masked afresh each time, so compression never repeats a secret
(BREACH); a masked token works like the plain one, a tampered one does not, and image files are left alone."""

import gzip
import re

from portal.views import csrf
from tests import factories
from tests.factories import csrf_token, sign_in_as

PRINTED = re.compile(r'"X-CSRFToken": "([0-9a-f]+)"')


async def test_each_page_prints_a_differently_masked_token_that_unmasks_to_the_cookie(client, clinic):
    await sign_in_as(client, clinic)
    first = PRINTED.search((await client.get("/patients")).text).group(1)
    second = PRINTED.search((await client.get("/patients")).text).group(1)
    cookie = await csrf_token(client)
    assert first != second and cookie not in first and cookie not in second
    assert csrf.unmask(first) == csrf.unmask(second) == cookie


async def test_a_masked_token_from_a_page_is_accepted_and_a_tampered_one_refused(client, clinic):
    patient_id = await factories.make_patient(clinic)
    await sign_in_as(client, clinic)
    page = await client.get(f"/patients/{patient_id}/edit")
    printed = PRINTED.search(page.text).group(1)
    tampered = printed[:-2] + ("00" if printed[-2:] != "00" else "11")
    refused = await client.post(f"/patients/{patient_id}", headers={"X-CSRFToken": tampered},
                                data={"given_name": "Changed"})
    assert refused.status_code == 403
    accepted = await client.post(f"/patients/{patient_id}", headers={"X-CSRFToken": printed},
                                 data={"given_name": "Changed"})
    assert accepted.status_code in {303, 422}  # past CSRF: the form itself judged it


async def test_large_pages_are_gzipped_when_the_browser_accepts_it(client, clinic):
    await sign_in_as(client, clinic)
    plain = await client.get("/patients", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    raw = await client.get("/patients", headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in raw.headers.get("vary", "").lower()
    assert "<html" in raw.text  # httpx decoded it


async def test_brotli_where_the_browser_accepts_it_and_gzip_for_the_rest(client, clinic):
    await sign_in_as(client, clinic)
    raw = await client.get("/patients", headers={"Accept-Encoding": "gzip, deflate, br"})  # as a browser asks
    assert raw.headers["content-encoding"] == "br"
    assert "<html" in raw.text and PRINTED.search(raw.text)  # httpx decoded it (brotli is installed)
    # brotli at its fastest level (portal/app.py); the four masked tokens, 2 KB of random hex, are most of what is left
    assert raw.num_bytes_downloaded < len(raw.content) / 2.5
    older = await client.get("/patients", headers={"Accept-Encoding": "gzip, deflate"})
    assert older.headers["content-encoding"] == "gzip" and "<html" in older.text


async def test_masking_round_trips_and_leaves_unmasked_values_alone():
    token = "ab" * 64
    assert csrf.unmask(csrf.mask(token)) == token
    assert csrf.mask(token) != csrf.mask(token)
    assert csrf.unmask(token) == token and csrf.unmask("forged") == "forged"
    assert gzip.decompress(gzip.compress(b"x")) == b"x"
