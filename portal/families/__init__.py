"""Families and guardianship (issue 15): households sharing a postal address, guardians as linked patient records."""
