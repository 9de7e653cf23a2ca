"""Social leads: the hourly check that a disconnected Facebook Page left nothing behind (within 24 hours)."""

from jobs import app
from portal.messaging import social


@app.periodic(cron="23 * * * *", periodic_id="social.verify")
@app.task(name="social.verify_disconnections", lock="social.verify_disconnections")
async def verify_disconnections(timestamp: int | None = None) -> int:
    return await social.verify_disconnections()
