"""Storage of staff accounts, their server-side sessions and sign-in attempts."""

from piccolo.columns import Boolean, Bytea, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.clinic import Clinic


class Staff(Table, tablename="staff"):
    clinic = ForeignKey(references=Clinic)
    name = Varchar(length=200)
    email = Varchar(length=320)  # stored lower-case; unique among identities and per clinic (see the migrations)
    password_hash = Varchar(length=200)
    role = Varchar(length=20)
    registration_body = Varchar(length=200, default="")
    registration_number = Varchar(length=100, default="")
    active = Boolean(default=True)
    language = Varchar(length=16, default="")  # "" = the clinic's language (Clinic.locale)
    created_at = Timestamptz()
    deletion_requested_at = Timestamptz(null=True, default=None)  # the owner deleted the account; the worker erases
    erased_at = Timestamptz(null=True, default=None)  # name, email and sign-in data gone; the id stays for history
    # None: this row is a person's identity (signs in). Else a membership of that identity in another clinic,
    # usable once the person accepted the owner's invitation (joined_at).
    person = ForeignKey(references="self", null=True, default=None)
    joined_at = Timestamptz(null=True, default=None)


class WebSession(Table, tablename="web_session"):
    """A Litestar session; staff_id/patient_id let us end every session of one person at once."""

    key = Varchar(length=128, unique=True)
    data = Bytea()
    staff_id = Integer(null=True, default=None)
    patient_id = Integer(null=True, default=None)
    expires_at = Timestamptz()


class LoginAttempt(Table, tablename="login_attempt"):
    email = Varchar(length=320)
    ip = Varchar(length=64)
    succeeded = Boolean()
    at = Timestamptz()
