"""Recall (recare) and online booking: who is due for which check-up, reminders, and booking by a signed link."""
