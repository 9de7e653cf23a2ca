"""Address changes: the confirmation link or code and the notice to the previous address, sent from the worker."""

import jobs
from jobs import app
from portal.contacts import notices


@app.task(name="contacts.notify")
async def notify(change_id: int, clinic_id: int | None = None) -> None:
    await notices.notify(jobs.settings(), change_id)
