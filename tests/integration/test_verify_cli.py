"""`naia verify [--repair]` in the foreground on the embedded store, as a user runs it."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.helpers import run_naia

SEED = ("--points", "SINUSOID,CDT158,SINUSOIDU", "--start", "2026-01-09T00:00:00Z",
        "--end", "2026-01-10T00:00:00Z")  # fmt: skip


def test_verify_names_the_damage_repair_mends_it_and_exit_codes_say_so(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.duckdb")
    fill = run_naia("backfill", *SEED, "--chunk", "01:00:00", "--db", db)
    assert fill.returncode == 0, fill.stdout + fill.stderr
    con = duckdb.connect(db)
    [(request_id,)] = con.execute("SELECT request_id FROM naia_requests").fetchall()
    con.close()
    clean = run_naia("verify", request_id, "--db", db)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Verified: 0 of 72 point-windows differ (source 4,320 events, stored 4,320" in (
        clean.stdout
    )
    con = duckdb.connect(db)
    con.execute(
        "DELETE FROM naia_values WHERE point_id = "
        "(SELECT point_id FROM naia_points WHERE source_address = 'CDT158') "
        "AND ts >= '2026-01-09 02:00:00Z' AND ts < '2026-01-09 02:20:00Z'"
    )
    con.execute(  # same count, another key: only the fingerprint sees it
        "UPDATE naia_values SET ts = ts + INTERVAL 1 SECOND WHERE point_id = "
        "(SELECT point_id FROM naia_points WHERE source_address = 'SINUSOID') "
        "AND ts = '2026-01-09 02:30:00Z'"
    )
    con.close()
    found = run_naia("verify", request_id, "--db", db)
    assert found.returncode == 1
    lines = [line for line in found.stdout.splitlines() if line.startswith("CDT158")]
    assert lines == ["CDT158  [2026-01-09T02:00:00Z, 2026-01-09T03:00:00Z)  source 60  stored 40"]
    moved = [line for line in found.stdout.splitlines() if line.startswith("SINUSOID ")]
    assert moved == [
        "SINUSOID  [2026-01-09T02:00:00Z, 2026-01-09T03:00:00Z)  source 60  stored 60  "
        "other keys than the source's"
    ]
    mended = run_naia("verify", request_id, "--db", db, "--repair")
    assert mended.returncode == 0, mended.stdout + mended.stderr
    assert "repairing 1 chunk(s)" in mended.stdout
    assert mended.stdout.rstrip().endswith("s") and "Verified: 0 of 72" in mended.stdout
    unknown = run_naia("verify", "nope", "--db", db)
    assert unknown.returncode == 2 and "no backfill request with id 'nope'" in unknown.stderr
