"""Social leads: the hourly check that a disconnected Facebook Page left nothing behind (within 24 hours), and the
daily fetch of connected Pages' insights (followers and reach per week)."""

import jobs
from jobs import app
from portal.messaging import page_insights, social


@app.periodic(cron="23 * * * *", periodic_id="social.verify")
@app.task(name="social.verify_disconnections", lock="social.verify_disconnections")
async def verify_disconnections(timestamp: int | None = None) -> int:
    return await social.verify_disconnections()


@app.periodic(cron="37 6 * * *", periodic_id="social.insights")
@app.task(name="social.fetch_insights", lock="social.fetch_insights")
async def fetch_insights(timestamp: int | None = None) -> int:
    return await page_insights.fetch(jobs.settings())
