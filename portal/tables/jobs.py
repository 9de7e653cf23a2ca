"""Storage beside procrastinate's queue: the last run of each task, job errors, and staff sign-in tokens."""

from piccolo.columns import BigInt, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.clinic import Clinic
from portal.tables.staff import Staff


class JobRun(Table, tablename="job_run"):
    task_name = Varchar(length=128, primary_key=True)
    last_started_at = Timestamptz()
    last_finished_at = Timestamptz(null=True, default=None)
    last_status = Varchar(length=20, default="running")  # running | succeeded | failed
    last_error = Text(default="")


class WorkerHeartbeat(Table, tablename="worker_heartbeat"):
    """One row per worker (host:pid), upserted every few seconds while it runs; deleted when it stops."""
    name = Varchar(length=200, primary_key=True)
    host = Varchar(length=200)
    pid = Integer()
    started_at = Timestamptz()
    beat_at = Timestamptz()


class JobError(Table, tablename="job_error"):
    """procrastinate keeps no error text; the worker writes the last one here for the owner page."""
    job_id = BigInt(primary_key=True)
    task_name = Varchar(length=128)
    error = Text(default="")
    at = Timestamptz()


class StaffToken(Table, tablename="staff_token"):
    clinic = ForeignKey(references=Clinic)
    staff = ForeignKey(references=Staff)
    purpose = Varchar(length=20)  # invitation | password_reset | membership | email_change | email_report
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    address = Varchar(length=320, null=True, default=None)  # the new address an email change waits to confirm
    requested_by = Integer(null=True, default=None)  # the staff row that asked for an email change
