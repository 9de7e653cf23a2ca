"""Twilio's request signature (`X-Twilio-Signature`), shared by the SMS and voice webhooks: base64 of HMAC-SHA1,
keyed with the auth token, over the URL Twilio called followed by every form field's name and value sorted by name.
The URL is rebuilt from the configured public URL, never from the request's Host (portal/links.py)."""

import base64
import hashlib
import hmac

from portal import links
from portal.settings import Settings


def signature(auth_token: str, url: str, fields: list[tuple[str, str]]) -> str:
    """What Twilio puts in X-Twilio-Signature for a form POST to `url`."""
    data = url + "".join(name + value for name, value in sorted(fields, key=lambda field: field[0]))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def valid(settings: Settings, path: str, fields: list[tuple[str, str]], header: str | None,
          auth_token: str | None = None) -> bool:
    """Checked with `auth_token` (the account the request claims to come from), else the shared SMS_AUTH_TOKEN."""
    token = settings.sms_auth_token if auth_token is None else auth_token
    if not token or not header:
        return False
    expected = signature(token, links.absolute_url(settings, path), fields)
    return hmac.compare_digest(expected, header)
