"""`naia backfill` starts fast: the CLI does not import what an embedded backfill never uses."""

import subprocess
import sys
from pathlib import Path

# Heavy packages of other commands: the API server, the emulator, the services, the
# distributed sinks; pandas is what pyarrow pulls in on the first ``pa.array(ndarray)``.
NOT_FOR_BACKFILL = (
    "fastapi",
    "uvicorn",
    "starlette",
    "confluent_kafka",
    "questdb",
    "redis",
    "pandas",
    "naia.emulator.app",
)


def _loaded_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint('\\n'.join(sys.modules))\n"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_importing_the_cli_loads_none_of_the_other_commands_packages() -> None:
    loaded = _loaded_after("import naia.cli.main")
    assert "naia.cli.main" in loaded  # the probe ran
    assert sorted(m for m in NOT_FOR_BACKFILL if m in loaded) == []


def test_an_embedded_piwebapi_runtime_loads_none_of_them(tmp_path: Path) -> None:
    """What `naia backfill --connector PIWebApi` builds before it reads (no server needed)."""
    loaded = _loaded_after(
        "from pathlib import Path\n"
        "from naia.app.wiring import build_runtime\n"
        "from naia.cli.main import _settings\n"
        "from naia.domain.model import ConnectorType\n"
        "pi = {'base_url': 'http://127.0.0.1:9/piwebapi', 'data_archive': 'PI'}\n"
        f"db = Path({str(tmp_path / 'x.duckdb')!r})\n"
        "runtime = build_runtime(_settings(None, db, piwebapi=pi))\n"
        "runtime.sources.open(ConnectorType.PI_WEB_API).close()\n"
        "runtime.close()\n"
    )
    assert {"naia.stores.duckdb.store", "naia.sources.piwebapi.source"} <= loaded
    assert sorted(m for m in NOT_FOR_BACKFILL if m in loaded) == []
