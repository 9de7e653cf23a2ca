"""`make bench-check`: compare bench/results/latest.md with the last committed one; fail on a ratio 20 % worse.

Ratios (page req/s ÷ /healthz req/s of the same run and server) travel between runs better than req/s do, so
they are what is compared: loaded and one-connection tables, per server and page. Run it before committing a
change to a hot path.
"""

import re
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "latest.md"
WORSE_BY = 0.20


def ratios(text: str) -> dict[tuple[str, str, str], float]:
    """(server, table, page) -> ratio, from the report's per-server tables."""
    found, server, table = {}, None, None
    for line in text.splitlines():
        if heading := re.match(r"## (\w+) [\d.]+ \(\d+ workers\)", line):
            server, table = heading.group(1), None
        elif server and line.startswith("wrk "):
            table = "1 connection" if "1 connection" in line else "loaded"
        elif server and table and line.startswith("| ") and not line.startswith("| Page"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if len(cells) >= 7 and re.fullmatch(r"\d+\.\d+", cells[6]) and cells[-1] == "ok":
                found[(server, table, cells[0])] = float(cells[6])
        elif line.startswith("## "):
            server = None
    return found


def compare(old: dict, new: dict) -> list[str]:
    return [f"{server} {table} {page}: ratio {new[key]:.3f} vs {old[key]:.3f} committed "
            f"({(1 - new[key] / old[key]) * 100:.0f} % worse)"
            for key in sorted(old.keys() & new.keys()) for server, table, page in [key]
            if old[key] > 0 and new[key] < old[key] * (1 - WORSE_BY)]


def uncompared(old: dict, new: dict) -> list[str]:
    """Ratios of this run with no committed figure (a page just added to the bench): named, not silently skipped."""
    return [f"{server} {table} {page}: ratio {new[key]:.3f}, nothing committed to compare with"
            for key in sorted(new.keys() - old.keys()) for server, table, page in [key]]


def main() -> int:
    committed = subprocess.run(["git", "show", "HEAD:bench/results/latest.md"], capture_output=True, text=True,
                               cwd=RESULTS.parent)
    if committed.returncode != 0:
        print("bench-check: no committed results to compare with")
        return 0
    old, new = ratios(committed.stdout), ratios(RESULTS.read_text())
    worse = compare(old, new)
    print(f"bench-check: {len(old.keys() & new.keys())} ratios compared with the committed run")
    for line in worse:
        print("  WORSE " + line)
    for line in uncompared(old, new):
        print("  NEW " + line)
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
