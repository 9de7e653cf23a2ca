"""Running an installation: the job dashboard's status, housekeeping, backups and the database roles."""
