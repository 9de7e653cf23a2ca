"""Load benchmark of the portal as served in production (`make bench`, see bench/run.py)."""
