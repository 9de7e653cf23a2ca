"""Fault drills with real processes and their own throwaway PostgreSQL (bench/faults.py holds the drills; the
figures go to bench/results/faults.md): four processes migrating one empty database, Piccolo's backwards
refused, PostgreSQL restarted under load, the database frozen with SIGSTOP, a worker whose database stays
away, and the embedded postmaster killed with kill -9. Loopback only; every drill stops what it started."""

import signal
import time

import pytest

from bench import faults


@pytest.fixture(scope="module")
def drill(tmp_path_factory):
    portal = faults.DrillPortal(tmp_path_factory.mktemp("faults"))
    yield portal
    portal.close()


def test_four_processes_migrating_one_empty_database_apply_each_migration_once(drill):
    figures = drill.migrated
    print(figures)
    assert figures["exit_codes"] == [0, 0, 0, 0], figures
    assert figures["rows"] == figures["migration_files"] and figures["duplicate_rows"] == 0, figures
    assert figures["forwards_runs"] == figures["migration_files"], figures  # one process ran each, the others waited


def test_piccolo_backwards_is_refused_and_forgets_nothing(drill):
    figures = drill.migrated
    assert figures["backwards_exit_code"] != 0, figures
    assert "restore the backup" in figures["backwards_message"], figures
    assert figures["rows_after_backwards"] == figures["rows"], figures


def test_a_database_restart_under_load_costs_seconds_and_no_worker(drill):
    figures = faults.restart_under_load(drill)
    print(figures)
    assert set(figures["failed_by_status"]) <= {"503"}, figures  # refusals say "come back", never a 500
    assert figures["recovery_seconds"] is not None and figures["recovery_seconds"] <= 5, figures
    assert figures["worker_exits"] == 0, figures
    assert figures["worker_resumed_seconds"] is not None and figures["worker_resumed_seconds"] <= 10, figures


def test_a_frozen_database_never_holds_a_request_past_its_timeouts(drill):
    figures = faults.freeze_database(drill, seconds=20)
    print(figures)
    assert set(figures["answers_during"]) == {"503"}, figures
    # Statement timeout 1 s, then asyncpg's cancel request within the 1 s connect timeout; 0.5 s for the rest.
    assert figures["slowest_overall_seconds"] <= 2.5, figures
    assert figures["recovery_seconds"] is not None and figures["recovery_seconds"] <= 5, figures
    assert figures["worker_exits"] == 0, figures


def test_a_worker_whose_database_stays_away_exits_non_zero(drill):
    worker = faults.portal(["worker", "--no-migrate"], {**drill.env, "WORKER_RECONNECT_SECONDS": "2"},
                           drill.folder / "give-up-worker.log")
    try:
        assert faults.wait_until(lambda: faults._fetch(
            drill.url, f"SELECT count(*) FROM worker_heartbeat WHERE pid = {worker.pid}") > 0, 20)
        drill.scratch.stop()
        started = time.monotonic()
        code = worker.wait(timeout=30)
        print(f"exit code {code} after {time.monotonic() - started:.1f} s")
        assert code == 1
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
            worker.wait()


def test_a_killed_embedded_postmaster_is_restarted_and_stops_with_the_portal(tmp_path):
    figures = faults.kill_embedded_postmaster(tmp_path)
    print(figures)
    assert set(figures["answers_before_200"]) <= {"503"}, figures
    assert figures["seconds_to_200"] is not None and figures["seconds_to_200"] <= 10, figures
    assert figures["page_after"] == 200, figures
    assert figures["portal_exit_code"] == 0 and figures["server_stopped_with_portal"], figures
    assert figures["left_running_after_kill"], figures  # kill -9 leaves it: nothing in the portal can run then
    assert figures["next_start_exit_code"] == 0 and figures["left_server_stopped_by_next_start"], figures
