"""Staff account work queued by a web request: password-reset requests (looked up and mailed here, not in the
request, so known and unknown addresses cost the web request the same)."""

import jobs
from jobs import app
from portal import staff_tokens


@app.task(name="staff.password_reset")
async def password_reset(email: str) -> None:
    await staff_tokens.request_reset(jobs.settings(), email)
