"""`naia backfill` starts fast: the CLI does not import what an embedded backfill never uses."""

import subprocess
import sys
from importlib.metadata import entry_points
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


def test_the_naia_command_loads_its_modules_with_the_cyclic_gc_off_and_freezes_them() -> None:
    """What they allocate at import is out of the collector's sight for the whole command."""
    probe = (
        "import gc\n"
        "from naia.cli.entry import load\n"
        "frozen_before = gc.get_freeze_count()\n"
        "load()\n"
        "print(frozen_before, gc.get_freeze_count(), gc.isenabled())\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    before, after, enabled = out.stdout.split()
    assert int(before) == 0 and int(after) > 50_000, out.stdout
    assert enabled == "True"


def test_the_console_script_and_python_m_naia_go_through_that_entry() -> None:
    (script,) = entry_points(group="console_scripts", name="naia")
    assert script.value == "naia.cli.entry:main"
    main = Path(__file__).parents[2] / "src" / "naia" / "__main__.py"
    assert "from naia.cli.entry import main" in main.read_text()
