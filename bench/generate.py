"""Bench data: 50 clinics and about a million appointments over ten years, plus one busy week for the demo clinic.

`python -m bench.generate` (or `bench.run`, which calls `ensure_data`) fills the bench database
(`chairside_bench` on the embedded server in var/bench). Three idempotent steps, each in its own transaction:

1. demo set-up: the demo clinic (portal.demo.load_demo) is topped up to 8 chairs, 8 providers (dentists and
   hygienists), 2,000 patients, and gets the demo's appointment types and opening hours when it has none;
2. bulk: 49 more clinics (chairs, providers, owner, receptionist, types, Mon–Fri 08:00–18:00, patients) and
   about 1,000,000 appointments from 9 years ago to 1 year ahead, spread over all 50 clinics
   (skipped when the database already holds >= 50 clinics);
3. measured week: about 600 appointments in the demo clinic's current week, Monday–Friday (skipped when
   that week already holds >= 80 % of that). This step follows the calendar, so a later run in a new week
   fills the new week.

Appointments never overlap per chair or per provider among active statuses (the exclusion constraints):
each chair is paired with one provider ("lane") and a lane's appointments on a day are sequential. All rows
go in with COPY (asyncpg copy_records_to_table), datetimes are timestamptz in UTC, and the end runs ANALYZE.
"""

import asyncio
import math
import os
import random
import sys
import time as timer
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "var" / "bench"
DATABASE = "chairside_bench"
# What every bench process runs with: plain HTTP on loopback, and no second factor for the demo owner (the bench
# signs in once per server run; the per-request check that a second factor was given still runs).
BENCH_ENV = {"PORTAL_HTTPS": "0", "TOTP_REQUIRED_ROLES": ""}

CLINICS = 50  # including the demo clinic
APPOINTMENTS = 1_000_000
YEARS_PAST, YEARS_FUTURE = 9, 1
DEMO_EMAIL = "owner@demo.chairside.test"
DEMO_CHAIRS = ("Chair 1", "Chair 2", "Hygiene room", "Chair 4", "Chair 5", "Chair 6", "Chair 7", "Chair 8")
DEMO_PROVIDER_ROLES = ("dentist",) * 5 + ("hygienist",) * 3  # 8 providers, one per chair
DEMO_PATIENTS = 2_000
WEEK_APPOINTMENTS = 600
WEEK_SKIP_FRACTION = 0.8
BATCH = 50_000
SEED = 20261124
PASSWORD = "chairside-bench"  # every generated staff account; one argon2 hash reused

ZONES = [("NL", "Europe/Amsterdam"), ("BE", "Europe/Brussels"), ("DE", "Europe/Berlin"), ("GB", "Europe/London"),
         ("IE", "Europe/Dublin")]
# Same as portal.demo.TYPES (name, minutes, colour, roles); weights say how common each is per role.
TYPES = [("Check-up", 30, "#2f7d6d", "dentist"), ("Filling", 45, "#1a6fd1", "dentist"),
         ("Cleaning", 45, "#8e44ad", "hygienist"), ("Root canal", 90, "#c0392b", "dentist"),
         ("Emergency", 20, "#d35400", "dentist,hygienist")]
WEIGHTS = {"dentist": {"Check-up": 10, "Emergency": 8, "Filling": 3, "Root canal": 1},  # ~31 minutes on average,
           "hygienist": {"Cleaning": 8, "Emergency": 10}}  # so ~16 fit a lane's day with a few gaps
GIVEN = ["Emma", "Liam", "Sophie", "Noah", "Julia", "Lucas", "Mila", "Daan", "Tess", "Sem", "Saar", "Finn", "Nora",
         "Levi", "Yara", "Milan", "Lotte", "Jesse", "Evi", "Thomas", "Anna", "Bram", "Zoë", "Mohammed", "Olivia",
         "James", "Amelia", "Oliver", "Lena", "Felix", "Hannah", "Jonas", "Chloé", "Louis", "Aoife", "Seán"]
FAMILY = ["de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "de Boer",
          "Bos", "Vos", "Peters", "Hendriks", "Dekker", "Brouwer", "El Amrani", "Yilmaz", "Müller", "Schmidt",
          "Schneider", "Fischer", "Smith", "Jones", "Taylor", "Brown", "Murphy", "Kelly", "Peeters", "Janssens"]
APPOINTMENT_COLUMNS = ("clinic", "patient", "provider", "chair", "appointment_type", "starts_at", "ends_at", "status",
                       "cancel_reason", "created_at", "updated_at")
PATIENT_COLUMNS = ("clinic", "given_name", "family_name", "date_of_birth", "email", "phone_mobile",
                   "preferred_language", "created_at", "updated_at")
ACTIVE = ("booked", "confirmed", "arrived", "in_chair", "completed")


def say(message: str) -> None:
    print(f"[generate] {message}", flush=True)


@dataclass
class Lane:
    """One chair with the one provider who works in it: their appointments never overlap each other."""

    chair: int
    provider: int
    role: str


@dataclass
class ClinicData:
    id: int
    zone: str
    lanes: list[Lane]
    patients: list[int]
    types: dict[str, list[tuple[int, int]]]  # role -> weighted pool of (type id, minutes)
    skip: tuple[date, date] | None = None  # local days left empty by the bulk step (the demo's own weeks)


@dataclass
class DemoTargets:
    """What bench.run needs to build its URLs and bookings."""

    clinic_id: int
    zone: str
    owner_id: int
    chairs: list[dict]  # id, name, in position order
    providers: list[dict]  # id, name, role
    types: list[dict]  # id, name, minutes, provider_roles
    opening: dict[int, tuple[time, time]]  # weekday -> first window
    monday: date
    week_appointments: int = 0
    totals: dict = field(default_factory=dict)
    patients: list[int] = field(default_factory=list)  # a sample of the demo clinic's patient ids
    last_day: date | None = None  # local day of the demo clinic's latest appointment

    @property
    def week_days(self) -> list[date]:
        return [self.monday + timedelta(days=i) for i in range(5)]


# --- helpers --------------------------------------------------------------------------------------------------------

def _weighted_types(rows: list[dict], role: str) -> list[tuple[int, int]]:
    """A pool to pick from with one random index: each (type id, minutes) repeated by its weight."""
    weights = WEIGHTS.get(role, {})
    pool = []
    for row in rows:
        if role in row["provider_roles"].split(","):
            pool += [(row["id"], row["minutes"])] * weights.get(row["name"], 1)
    return pool


def _local_midnight_utc(zone: ZoneInfo, day: date) -> datetime:
    """UTC instant of the local midnight; clinic hours never cross a DST switch (at 01:00-03:00)."""
    return datetime.combine(day, time(12), zone).astimezone(timezone.utc) - timedelta(hours=12)


def _this_monday(zone: str) -> date:
    today = datetime.now(ZoneInfo(zone)).date()
    return today - timedelta(days=today.weekday())


def _years_from(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class Progress:
    def __init__(self, label: str, total: int):
        self.label, self.total, self.started, self.done, self.last = label, total, timer.monotonic(), 0, 0.0

    def add(self, n: int, force: bool = False) -> None:
        self.done += n
        now = timer.monotonic()
        if force or now - self.last >= 2:
            self.last = now
            pct = min(100, 100 * self.done / self.total) if self.total else 100
            say(f"{self.label} {self.done:,}/{self.total:,} ({pct:.0f}%) {now - self.started:.1f} s")


# --- step 1: demo clinic set-up ---------------------------------------------------------------------------------------

async def _password_hash() -> str:
    from portal import auth

    return await asyncio.to_thread(auth.hash_password, PASSWORD)


async def _demo_clinic(conn: asyncpg.Connection) -> tuple[int, str, int]:
    row = await conn.fetchrow("SELECT s.id, s.clinic, c.time_zone FROM staff s JOIN clinic c ON c.id = s.clinic "
                              "WHERE s.email = $1", DEMO_EMAIL)
    if row is None:
        raise RuntimeError(f"{DEMO_EMAIL} is missing: load the demo clinic first (portal.demo.load_demo)")
    return row["clinic"], row["time_zone"], row["id"]


async def ensure_demo_setup(conn: asyncpg.Connection, password_hash: str) -> bool:
    """Top the demo clinic up to what the calendar bench needs; True when something was added."""
    cid, _, _ = await _demo_clinic(conn)
    now = datetime.now(timezone.utc)
    changed = False
    async with conn.transaction():
        if not await conn.fetchval("SELECT count(*) FROM appointment_type WHERE clinic = $1", cid):
            await conn.copy_records_to_table("appointment_type", columns=("clinic", "name", "minutes", "colour",
                                                                          "provider_roles", "active"),
                                             records=[(cid, n, m, c, r, True) for n, m, c, r in TYPES])
            changed = True
        if not await conn.fetchval("SELECT count(*) FROM opening_hours WHERE clinic = $1", cid):
            # As portal.demo sets them: weekdays 08:00-17:30, Saturday morning.
            rows = [(cid, wd, time(8), time(17, 30)) for wd in range(5)] + [(cid, 5, time(9), time(13))]
            await conn.copy_records_to_table("opening_hours", columns=("clinic", "weekday", "opens", "closes"),
                                             records=rows)
            changed = True
        chairs = await conn.fetchval("SELECT count(*) FROM chair WHERE clinic = $1 AND NOT retired", cid)
        position = await conn.fetchval("SELECT coalesce(max(position), 0) FROM chair WHERE clinic = $1", cid)
        if chairs < len(DEMO_CHAIRS):
            rows = [(cid, name, position + i + 1, False, now) for i, name in enumerate(DEMO_CHAIRS[chairs:])]
            await conn.copy_records_to_table("chair", columns=("clinic", "name", "position", "retired", "created_at"),
                                             records=rows)
            say(f"demo clinic: added {len(rows)} chairs ({len(DEMO_CHAIRS)} in all)")
            changed = True
        have = [r["role"] for r in await conn.fetch(
            "SELECT role FROM staff WHERE clinic = $1 AND active AND role IN ('dentist', 'hygienist')", cid)]
        missing = list(DEMO_PROVIDER_ROLES)
        for role in have:
            if role in missing:
                missing.remove(role)
        if missing and len(have) < len(DEMO_PROVIDER_ROLES):
            missing = missing[:len(DEMO_PROVIDER_ROLES) - len(have)]
            taken = await conn.fetchval("SELECT count(*) FROM staff WHERE email LIKE 'bench-%@demo.chairside.test'")
            rows = []
            for i, role in enumerate(missing, start=taken + 1):
                name = (f"Dr. Bench Dentist {i}" if role == "dentist" else f"Bench Hygienist {i}")
                rows.append((cid, name, f"bench-{role}-{i}@demo.chairside.test", password_hash, role, True, now))
            await conn.copy_records_to_table("staff", columns=("clinic", "name", "email", "password_hash", "role",
                                                               "active", "created_at"), records=rows)
            say(f"demo clinic: added {len(rows)} providers ({len(DEMO_PROVIDER_ROLES)} in all)")
            changed = True
        patients = await conn.fetchval("SELECT count(*) FROM patient WHERE clinic = $1", cid)
        if patients < DEMO_PATIENTS:
            rng = random.Random(SEED + cid)
            rows = _patients(rng, cid, DEMO_PATIENTS - patients, now, "nl", start=patients)
            await conn.copy_records_to_table("patient", columns=PATIENT_COLUMNS, records=rows)
            say(f"demo clinic: added {len(rows):,} patients")
            changed = True
    return changed


def _patients(rng: random.Random, clinic_id: int, n: int, now: datetime, language: str, start: int = 0) -> list:
    rows = []
    for i in range(start, start + n):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        born = date(rng.randint(1935, 2022), rng.randint(1, 12), rng.randint(1, 28))
        created = now - timedelta(days=rng.randint(30, 3600))
        email = f"{given.lower()}.{family.lower().replace(' ', '')}.{clinic_id}.{i}@example.org"
        rows.append((clinic_id, given, family, born, email, f"+316{rng.randint(10_000_000, 99_999_999)}", language,
                     created, created))
    return rows


async def _load_clinic(conn: asyncpg.Connection, cid: int, zone: str,
                       window: tuple[datetime, datetime] | None = None) -> ClinicData:
    """Lanes pair each chair with one provider: first the pairs the clinic's existing appointments use most (the
    demo's dentist in Chair 1, its hygienist in the Hygiene room), then chairs in position order with providers
    (dentists, then hygienists)."""
    chairs = [r["id"] for r in await conn.fetch(
        "SELECT id FROM chair WHERE clinic = $1 AND NOT retired ORDER BY position, id", cid)]
    providers = {r["id"]: r["role"] for r in await conn.fetch(
        "SELECT id, role FROM staff WHERE clinic = $1 AND active AND role IN ('dentist', 'hygienist') "
        "ORDER BY role, id", cid)}
    lanes = []
    lo, hi = window or (datetime.min.replace(tzinfo=timezone.utc), datetime.max.replace(tzinfo=timezone.utc))
    for used in await conn.fetch("SELECT provider, chair FROM appointment WHERE clinic = $1 AND starts_at >= $2 "
                                 "AND starts_at < $3 GROUP BY 1, 2 ORDER BY count(*) DESC", cid, lo, hi):
        if used["chair"] in chairs and used["provider"] in providers:
            lanes.append(Lane(used["chair"], used["provider"], providers.pop(used["provider"])))
            chairs.remove(used["chair"])
    lanes += [Lane(c, p, role) for c, (p, role) in zip(chairs, providers.items())]
    lanes.sort(key=lambda lane: lane.chair)
    types = [dict(r) for r in await conn.fetch(
        "SELECT id, name, minutes, provider_roles FROM appointment_type WHERE clinic = $1 AND active", cid)]
    patients = [r["id"] for r in await conn.fetch("SELECT id FROM patient WHERE clinic = $1 ORDER BY id", cid)]
    pools = {role: _weighted_types(types, role) for role in ("dentist", "hygienist")}
    lanes = [lane for lane in lanes if pools[lane.role]]
    return ClinicData(cid, zone, lanes, patients, pools)


# --- step 2: bulk ---------------------------------------------------------------------------------------------------

async def _create_clinics(conn: asyncpg.Connection, count: int, password_hash: str) -> list[tuple[int, str]]:
    now = datetime.now(timezone.utc)
    rng = random.Random(SEED)
    made = []
    first = await conn.fetchval("SELECT count(*) FROM clinic") + 1
    progress = Progress("clinics", count)
    for n in range(first, first + count):
        country, zone = ZONES[n % len(ZONES)]
        slug = f"bench-clinic-{n:02d}"
        cid = await conn.fetchval(
            "INSERT INTO clinic (name, address, country, time_zone, contact_email, privacy_email, locale, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, 'en', $7) RETURNING id",
            f"Bench Dental {n:02d}", f"Benchstraat {n}, 1000 AA Testdorp", country, zone, f"desk@{slug}.test",
            f"privacy@{slug}.test", now)
        chairs = rng.randint(3, 8)
        dentists = math.ceil(chairs * 0.6)
        await conn.copy_records_to_table(
            "chair", columns=("clinic", "name", "position", "retired", "created_at"),
            records=[(cid, f"Chair {i + 1}", i + 1, False, now) for i in range(chairs)])
        staff = [(cid, f"Owner {n:02d}", f"owner@{slug}.test", "owner"),
                 (cid, f"Reception {n:02d}", f"reception@{slug}.test", "receptionist")]
        staff += [(cid, f"Dr. Dentist {n:02d}-{i + 1}", f"dentist{i + 1}@{slug}.test", "dentist")
                  for i in range(dentists)]
        staff += [(cid, f"Hygienist {n:02d}-{i + 1}", f"hygienist{i + 1}@{slug}.test", "hygienist")
                  for i in range(chairs - dentists)]
        await conn.copy_records_to_table(
            "staff", columns=("clinic", "name", "email", "password_hash", "role", "active", "created_at"),
            records=[(c, name, email, password_hash, role, True, now) for c, name, email, role in staff])
        await conn.copy_records_to_table(
            "appointment_type", columns=("clinic", "name", "minutes", "colour", "provider_roles", "active"),
            records=[(cid, name, minutes, colour, roles, True) for name, minutes, colour, roles in TYPES])
        await conn.copy_records_to_table(
            "opening_hours", columns=("clinic", "weekday", "opens", "closes"),
            records=[(cid, wd, time(8), time(18)) for wd in range(5)])
        await conn.copy_records_to_table(
            "patient", columns=PATIENT_COLUMNS,
            records=_patients(rng, cid, rng.randint(1_500, 2_500), now, "en" if country in ("GB", "IE") else "nl"))
        made.append((cid, zone))
        progress.add(1)
    return made


def _bulk_rows(clinics: list[ClinicData], first: date, last: date, per_lane_day: float, now: datetime):
    """Yield appointment tuples clinic by clinic, day by day: up to five per lane and day, one in each 2-hour block
    from 08:00 (start at :00, :15 or :30, at most 90 minutes, so a lane never overlaps itself)."""
    whole, fraction = int(per_lane_day), per_lane_day - int(per_lane_day)
    minutes = [timedelta(minutes=m) for m in range(24 * 60 + 1)]
    fortnight = timedelta(days=14)
    blocks = (8 * 60, 10 * 60, 12 * 60, 14 * 60, 16 * 60)
    for clinic in clinics:
        rng = random.Random(SEED + clinic.id)
        zone = ZoneInfo(clinic.zone)
        patients, npat = clinic.patients, len(clinic.patients)
        pools = {role: (pool, len(pool)) for role, pool in clinic.types.items()}
        day = first
        while day < last:
            if day.weekday() < 5 and not (clinic.skip and clinic.skip[0] <= day < clinic.skip[1]):
                midnight = _local_midnight_utc(zone, day)
                for lane in clinic.lanes:
                    k = whole + (rng.random() < fraction)
                    if not k:
                        continue
                    pool, npool = pools[lane.role]
                    for block in rng.sample(blocks, min(k, 5)):
                        type_id, length = pool[int(rng.random() * npool)]
                        start = block + (0, 15, 30)[int(rng.random() * 3)]
                        starts = midnight + minutes[start]
                        ends = midnight + minutes[start + length]
                        r = rng.random()
                        if ends < now:
                            status = "completed" if r < 0.90 else ("no_show" if r < 0.94 else "cancelled")
                        else:
                            status = "booked" if r < 0.80 else ("confirmed" if r < 0.95 else "cancelled")
                        created = starts - fortnight
                        yield (clinic.id, patients[int(rng.random() * npat)], lane.provider, lane.chair, type_id,
                               starts, ends, status, "Patient called to cancel" if status == "cancelled" else "",
                               created, created)
            day += timedelta(days=1)


async def _copy_appointments(conn: asyncpg.Connection, rows, total: int, label: str) -> int:
    progress = Progress(label, total)
    batch, done = [], 0
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            await conn.copy_records_to_table("appointment", columns=APPOINTMENT_COLUMNS, records=batch)
            done += len(batch)
            progress.add(len(batch))
            batch = []
    if batch:
        await conn.copy_records_to_table("appointment", columns=APPOINTMENT_COLUMNS, records=batch)
        done += len(batch)
        progress.add(len(batch), force=True)
    return done


async def ensure_bulk(conn: asyncpg.Connection, password_hash: str) -> bool:
    """49 more clinics and ~1M appointments over all 50; skipped when >= CLINICS clinics exist."""
    clinics_now = await conn.fetchval("SELECT count(*) FROM clinic")
    if clinics_now >= CLINICS:
        say(f"bulk data present ({clinics_now} clinics, "
            f"{await conn.fetchval('SELECT count(*) FROM appointment'):,} appointments): skipped")
        return False
    started = timer.monotonic()
    demo_id, demo_zone, _ = await _demo_clinic(conn)
    async with conn.transaction():
        made = await _create_clinics(conn, CLINICS - clinics_now, password_hash)
        zones = {r["id"]: r["time_zone"] for r in await conn.fetch("SELECT id, time_zone FROM clinic")}
        ids = [demo_id] + [cid for cid, _ in made]
        clinics = [await _load_clinic(conn, cid, zones[cid]) for cid in ids]
        # The demo's own appointments (portal.demo: today -3 .. +7 days) and the measured week stay clear of bulk rows.
        monday = _this_monday(demo_zone)
        clinics[0].skip = (monday - timedelta(days=7), monday + timedelta(days=14))
        today = datetime.now(timezone.utc).date()
        first, last = _years_from(today, -YEARS_PAST), _years_from(today, YEARS_FUTURE)
        weekdays = sum(1 for i in range((last - first).days) if (first + timedelta(days=i)).weekday() < 5)
        lanes = sum(len(c.lanes) for c in clinics)
        per_lane_day = APPOINTMENTS / (lanes * weekdays)
        say(f"{len(clinics)} clinics, {lanes} chair/provider lanes, {weekdays:,} weekdays {first} .. {last}: "
            f"{per_lane_day:.2f} appointments per lane and day")
        done = await _copy_appointments(conn, _bulk_rows(clinics, first, last, per_lane_day,
                                                         datetime.now(timezone.utc)), APPOINTMENTS, "appointments")
    say(f"bulk: {len(made)} clinics and {done:,} appointments in {timer.monotonic() - started:.1f} s")
    return True


# --- step 3: the measured week --------------------------------------------------------------------------------------

async def ensure_week(conn: asyncpg.Connection) -> bool:
    """About WEEK_APPOINTMENTS appointments in the demo clinic's current Monday-Friday (8 chairs x 5 days)."""
    cid, zone_name, _ = await _demo_clinic(conn)
    zone = ZoneInfo(zone_name)
    monday = _this_monday(zone_name)
    lo, hi = _local_midnight_utc(zone, monday), _local_midnight_utc(zone, monday + timedelta(days=5))
    existing = await conn.fetchval("SELECT count(*) FROM appointment WHERE clinic = $1 AND starts_at >= $2 "
                                   "AND starts_at < $3", cid, lo, hi)
    if existing >= WEEK_APPOINTMENTS * WEEK_SKIP_FRACTION:
        say(f"measured week {monday} .. {monday + timedelta(days=4)}: {existing} appointments present: skipped")
        return False
    clinic = await _load_clinic(conn, cid, zone_name, window=(lo, hi))  # pairs as the week's rows already use
    opening = {r["weekday"]: (r["opens"], r["closes"]) for r in await conn.fetch(
        "SELECT DISTINCT ON (weekday) weekday, opens, closes FROM opening_hours WHERE clinic = $1 "
        "ORDER BY weekday, opens", cid)}
    busy_chair: dict[int, list] = {}
    busy_provider: dict[int, list] = {}
    for r in await conn.fetch("SELECT chair, provider, starts_at, ends_at FROM appointment WHERE clinic = $1 AND "
                              "starts_at < $2 AND ends_at > $3 AND status = ANY($4::text[])",
                              cid, hi, lo, list(ACTIVE)):
        busy_chair.setdefault(r["chair"], []).append((r["starts_at"], r["ends_at"]))
        busy_provider.setdefault(r["provider"], []).append((r["starts_at"], r["ends_at"]))
    # Fill every lane's day back to back (short random gaps), around what is already booked, then leave out a random
    # few so that the week holds WEEK_APPOINTMENTS: the gaps they leave are the free slots the finder can find.
    rng = random.Random(SEED + monday.toordinal())
    now = datetime.now(timezone.utc)
    rows = []
    for offset in range(5):
        day = monday + timedelta(days=offset)
        opens, closes = opening.get(day.weekday(), (time(8), time(18)))
        midnight = _local_midnight_utc(zone, day)
        day_end = midnight + timedelta(hours=closes.hour, minutes=closes.minute)
        for lane in clinic.lanes:
            pool = clinic.types[lane.role]
            cursor = midnight + timedelta(hours=opens.hour, minutes=opens.minute)
            while True:
                type_id, length = rng.choice(pool)
                starts = cursor + timedelta(minutes=rng.choice((0, 0, 0, 5, 10)))
                ends = starts + timedelta(minutes=length)
                if ends > day_end:
                    break
                clash = [e for s, e in busy_chair.get(lane.chair, []) + busy_provider.get(lane.provider, [])
                         if s < ends and starts < e]
                if clash:
                    late = max(clash)
                    cursor = late + timedelta(minutes=(-late.minute) % 5)
                    continue
                r = rng.random()
                if ends < now:
                    status = "completed" if r < 0.92 else ("no_show" if r < 0.96 else "cancelled")
                else:
                    status = "booked" if r < 0.75 else ("confirmed" if r < 0.96 else "cancelled")
                created = starts - timedelta(days=rng.randint(1, 60))
                rows.append((cid, rng.choice(clinic.patients), lane.provider, lane.chair, type_id, starts, ends, status,
                             "Patient called to cancel" if status == "cancelled" else "", created, created))
                cursor = ends
    wanted = max(0, WEEK_APPOINTMENTS - existing)
    if len(rows) > wanted:
        keep = set(rng.sample(range(len(rows)), wanted))
        rows = [row for i, row in enumerate(rows) if i in keep]
    async with conn.transaction():
        await conn.copy_records_to_table("appointment", columns=APPOINTMENT_COLUMNS, records=rows)
    say(f"measured week {monday} .. {monday + timedelta(days=4)}: added {len(rows)} appointments "
        f"({existing + len(rows)} in the week, {len(clinic.lanes)} chairs)")
    return True


# --- targets --------------------------------------------------------------------------------------------------------

async def demo_targets(conn: asyncpg.Connection) -> DemoTargets:
    cid, zone_name, owner_id = await _demo_clinic(conn)
    monday = _this_monday(zone_name)
    zone = ZoneInfo(zone_name)
    lo, hi = _local_midnight_utc(zone, monday), _local_midnight_utc(zone, monday + timedelta(days=5))
    chairs = [dict(r) for r in await conn.fetch(
        "SELECT id, name FROM chair WHERE clinic = $1 AND NOT retired ORDER BY position, id", cid)]
    providers = [dict(r) for r in await conn.fetch(
        "SELECT id, name, role FROM staff WHERE clinic = $1 AND active AND role IN ('dentist', 'hygienist') "
        "ORDER BY role, id", cid)]
    types = [dict(r) for r in await conn.fetch(
        "SELECT id, name, minutes, provider_roles FROM appointment_type WHERE clinic = $1 AND active ORDER BY id", cid)]
    opening = {r["weekday"]: (r["opens"], r["closes"]) for r in await conn.fetch(
        "SELECT DISTINCT ON (weekday) weekday, opens, closes FROM opening_hours WHERE clinic = $1 "
        "ORDER BY weekday, opens", cid)}
    week = await conn.fetchval("SELECT count(*) FROM appointment WHERE clinic = $1 AND starts_at >= $2 "
                               "AND starts_at < $3", cid, lo, hi)
    totals = {"clinics": await conn.fetchval("SELECT count(*) FROM clinic"),
              "appointments": await conn.fetchval("SELECT count(*) FROM appointment"),
              "demo_appointments": await conn.fetchval("SELECT count(*) FROM appointment WHERE clinic = $1", cid),
              "patients": await conn.fetchval("SELECT count(*) FROM patient"),
              "audit_entries": await conn.fetchval("SELECT count(*) FROM audit_entry")}
    patients = [r["id"] for r in await conn.fetch(
        "SELECT id FROM patient WHERE clinic = $1 ORDER BY id LIMIT 500", cid)]
    latest = await conn.fetchval("SELECT max(starts_at) FROM appointment WHERE clinic = $1", cid)
    last_day = latest.astimezone(zone).date() if latest else monday
    return DemoTargets(cid, zone_name, owner_id, chairs, providers, types, opening, monday, week, totals, patients,
                       last_day)


async def _never_vacuumed(conn) -> bool:
    return bool(await conn.fetchval("SELECT last_vacuum IS NULL AND last_autovacuum IS NULL FROM pg_stat_user_tables "
                                    "WHERE relname = 'appointment'"))


async def _maintain(url: str, vacuum: bool, analyze: bool) -> None:
    """VACUUM/ANALYZE as the tables' owner and CHECKPOINT as the server's superuser: the application role that
    loads the data may do neither (portal/operations/db_roles.py), and a skipped VACUUM is silent."""
    from portal import db

    owner = await asyncpg.connect(os.environ.get("MIGRATION_DATABASE_URL") or url)
    try:
        if vacuum:
            say("VACUUM ANALYZE ...")
            t = timer.monotonic()
            await owner.execute("VACUUM (ANALYZE)")  # visibility map and hint bits now, not during the measurement
            say(f"VACUUM ANALYZE done in {timer.monotonic() - t:.1f} s")
        elif analyze:
            await owner.execute("ANALYZE")
            say("ANALYZE done")
    finally:
        await owner.close()
    # Write dirty pages out now, so a checkpoint does not land in the middle of the first server's run.
    superuser = db.embedded_superuser_url(DATABASE)
    if superuser is None:
        say("CHECKPOINT skipped: no superuser URL for an external server")
        return
    conn = await asyncpg.connect(superuser)
    try:
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


# --- entry points ---------------------------------------------------------------------------------------------------

async def ensure_data(url: str) -> DemoTargets:
    """All three steps (each skipped when already done), ANALYZE when anything changed; the demo's targets."""
    started = timer.monotonic()
    conn = await asyncpg.connect(url)
    try:
        password_hash = await _password_hash()
        changed = await ensure_demo_setup(conn, password_hash)
        bulk = await ensure_bulk(conn, password_hash)
        week = await ensure_week(conn)
        await _maintain(url, vacuum=bulk or await _never_vacuumed(conn), analyze=changed or week)
        targets = await demo_targets(conn)
    finally:
        await conn.close()
    say(f"data ready in {timer.monotonic() - started:.1f} s: {targets.totals['clinics']} clinics, "
        f"{targets.totals['appointments']:,} appointments, {targets.week_appointments} in the demo clinic's week "
        f"of {targets.monday}")
    return targets


def prepare(env: dict | None = None) -> str:
    """Start the embedded server, create + migrate chairside_bench, load the demo clinic; the database URL."""
    import os

    from portal import db, demo

    os.environ.update(env or {})
    os.environ.setdefault("PORTAL_DATA_DIR", str(DATA_DIR))
    url = db.resolve_database_url(None, DATA_DIR, database=DATABASE)
    asyncio.run(db.migrate())

    async def load() -> None:
        await db.start_pool(max_size=2)
        try:
            await demo.load_demo()
        finally:
            await db.close_pool()

    asyncio.run(load())
    return url


def main() -> None:
    from portal import db

    started = timer.monotonic()
    try:
        url = prepare()
        asyncio.run(ensure_data(url))
    finally:
        db.stop_embedded()
    say(f"finished in {timer.monotonic() - started:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
