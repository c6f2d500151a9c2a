"""The `naia` command as a user runs it."""

from pathlib import Path

from tests.helpers import run_naia

SEED = ("--points", "SINUSOID,CDT158,SINUSOIDU", "--start", "2026-01-09T00:00:00Z",
        "--end", "2026-01-10T00:00:00Z")  # fmt: skip
SEED_QUERY = (
    "SELECT COUNT(*) FROM point_data WHERE source_address IN ('SINUSOID', 'CDT158', 'SINUSOIDU')"
)


def test_backfill_then_sql_prints_4320(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.duckdb")
    result = run_naia(
        "backfill", "--connector", "Simulator", *SEED, "--chunk", "01:00:00", "--db", db
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Completed" in result.stdout and "4,320" in result.stdout
    query = run_naia("sql", "--db", db, SEED_QUERY)
    assert query.returncode == 0 and "4,320" in query.stdout


def test_bad_input_exits_non_zero_and_names_the_field(tmp_path: Path) -> None:
    db = tmp_path / "bad.duckdb"
    result = run_naia("backfill", *SEED, "--chunk", "0:00:00", "--db", str(db))
    assert result.returncode == 2 and "chunkSize" in result.stderr
    result = run_naia("backfill", "--points", "NOPE", "--start", "2026-01-09T00:00:00Z",
                      "--end", "2026-01-10T00:00:00Z", "--db", str(db))  # fmt: skip
    assert result.returncode == 2 and "NOPE" in result.stderr


def test_sql_without_a_store_is_an_error(tmp_path: Path) -> None:
    result = run_naia("sql", "--db", str(tmp_path / "missing.duckdb"), "SELECT 1")
    assert result.returncode == 2 and "no store" in result.stderr


def test_config_file_and_env_vars(tmp_path: Path) -> None:
    config = tmp_path / "naia.toml"
    db = tmp_path / "from-config.duckdb"
    config.write_text(f'[store]\npath = "{db}"\n[orchestrator]\nmax_points = 2\n')
    result = run_naia("backfill", *SEED, "--config", str(config))
    assert result.returncode == 2 and "maximum of 2" in result.stderr
    result = run_naia(
        "backfill", *SEED, "--config", str(config), env={"NAIA_ORCHESTRATOR__MAX_POINTS": "3"}
    )
    assert result.returncode == 0, result.stderr
    assert db.exists()
