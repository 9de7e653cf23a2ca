"""Storage of staff two-factor sign-in: TOTP secrets, hashed recovery codes, remembered devices."""

from piccolo.columns import BigInt, ForeignKey, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.staff import Staff


class StaffTotp(Table, tablename="staff_totp"):
    staff = ForeignKey(references=Staff)
    secret = Text()  # Fernet token of the base32 secret (RFC 6238); older rows plain base32 until sealed
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


class StaffTwoFactorReset(Table, tablename="staff_two_factor_reset"):
    """An owner reset this member's second factor: they must enrol again at their next sign-in (gone once done)."""

    staff = ForeignKey(references=Staff, unique=True)
    reset_by = ForeignKey(references=Staff, null=True)
    reset_at = Timestamptz()
