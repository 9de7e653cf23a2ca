"""Storage of staff two-factor sign-in: TOTP secrets, hashed recovery codes, remembered devices."""

from piccolo.columns import BigInt, ForeignKey, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.staff import Staff


class StaffTotp(Table, tablename="staff_totp"):
    staff = ForeignKey(references=Staff)
    secret = Varchar(length=64)  # base32 (RFC 6238)
    confirmed_at = Timestamptz(null=True, default=None)  # None: enrolment started, not yet proven with a code
    last_counter = BigInt(default=0)  # the last time step used: a code works once
    created_at = Timestamptz()


class StaffRecoveryCode(Table, tablename="staff_recovery_code"):
    staff = ForeignKey(references=Staff)
    code_hash = Varchar(length=64)  # SHA-256 of a random 10-character code (high entropy: no slow hash needed)
    used_at = Timestamptz(null=True, default=None)


class StaffTrustedDevice(Table, tablename="staff_trusted_device"):
    staff = ForeignKey(references=Staff)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    expires_at = Timestamptz()
