"""Staff two-factor sign-in (RFC 6238 TOTP): enrolment with a QR code drawn on the server, recovery codes, devices
remembered for a while, required for the roles TOTP_REQUIRED_ROLES names (owners by default)."""
