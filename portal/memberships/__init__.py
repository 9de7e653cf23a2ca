"""One person, several clinics: memberships (a role per clinic) of one sign-in identity, invitations to join, and
switching the active clinic after sign-in."""
