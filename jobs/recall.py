"""Recall reminders every ten minutes (portal/recall/reminders.py) and waitlist offers of freed slots every minute
(portal/recall/waitlist.py); the periodic locks make each one run at a time however many workers run, and the
outbox keys (and the freed-slot record) make a rerun harmless."""

import procrastinate

import jobs
from jobs import app
from portal.recall import booking_codes, reminders, waitlist


@app.periodic(cron="*/10 * * * *", periodic_id="recall.reminders")
@app.task(name="recall.remind", queueing_lock="recall.remind", lock="recall.remind",
          retry=procrastinate.RetryStrategy(max_attempts=5, exponential_wait=3))
async def remind(timestamp: int | None = None) -> int:
    return await reminders.plan_recall_reminders(jobs.settings())


@app.periodic(cron="* * * * *", periodic_id="waitlist.offers")
@app.task(name="waitlist.offer", queueing_lock="waitlist.offer", lock="waitlist.offer",
          retry=procrastinate.RetryStrategy(max_attempts=5, exponential_wait=3))
async def offer(timestamp: int | None = None) -> int:
    return await waitlist.offer_freed_slots(jobs.settings())


@app.task(name="booking.send_code", retry=procrastinate.RetryStrategy(max_attempts=5, exponential_wait=3))
async def send_code(code_id: int, clinic_id: int | None = None) -> bool:
    """Match an online booking's code request, issue the code and send it (portal/recall/booking_codes.py)."""
    return await booking_codes.send_code(jobs.settings(), code_id)
