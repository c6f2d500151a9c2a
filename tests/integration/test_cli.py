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


def test_retry_failed_runs_only_the_failed_chunks(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from naia.domain.model import BackfillSpec, ConnectorType, RequestStatus
    from naia.orchestrator import Orchestrator, OrchestratorConfig, RetryPolicy
    from naia.sources.simulator import SimulatorSource
    from naia.stores.duckdb import DuckDbStore
    from tests.doubles.sources import FlakySource, Provider
    from tests.helpers import db_count

    db = tmp_path / "retry.duckdb"
    start = datetime(2026, 1, 9, tzinfo=UTC)
    broken = {start + timedelta(hours=h) for h in (3, 17)}
    store = DuckDbStore(db)
    config = OrchestratorConfig(retry=RetryPolicy(max_attempts=1))
    orch = Orchestrator(
        Provider(FlakySource(SimulatorSource(), broken=broken)), store, store, config
    )
    spec = BackfillSpec(ConnectorType.SIMULATOR, ("SINUSOID", "CDT158", "SINUSOIDU"), start,
                        start + timedelta(days=1), timedelta(hours=1))  # fmt: skip
    request_id = orch.submit(spec).request_id
    orch.run_pending()
    assert orch.get(request_id).status is RequestStatus.FAILED
    store.close()
    assert db_count(db, SEED_QUERY) == 22 * 180

    result = run_naia("retry-failed", request_id, "--db", str(db))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "retrying 2 chunk(s)" in result.stdout and "Completed" in result.stdout
    assert db_count(db, SEED_QUERY) == 4320
    again = run_naia("retry-failed", request_id, "--db", str(db))
    assert again.returncode == 2 and "no failed chunks" in again.stderr


def test_store_memory_limit_is_checked_and_used(tmp_path: Path) -> None:
    db = tmp_path / "limit.duckdb"
    bad = run_naia("backfill", *SEED, "--db", str(db), env={"NAIA_STORE__MEMORY_LIMIT": "lots"})
    assert bad.returncode == 2 and "memory_limit" in bad.stderr and not db.exists()
    good = run_naia("backfill", *SEED, "--db", str(db), env={"NAIA_STORE__MEMORY_LIMIT": "24MB"})
    assert good.returncode == 0 and "4,320" in good.stdout, good.stderr
