"""Each published client in its own virtualenv under ``var/compat/<name>``, pinned by
``constraints.txt``; built once and rebuilt when the pins change (a stamp file holds them)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CONSTRAINTS = HERE / "constraints.txt"
DRIVERS = HERE / "drivers"
CLIENTS = {  # venv name → what to install (versions come from constraints.txt)
    "pi-web-sdk": ["pi-web-sdk"],
    # kukur's piwebapi extra without requests-kerberos (Basic/anonymous); numpy: kukur imports it
    # (its simulator source) without declaring it
    "kukur": ["kukur", "requests", "numpy"],
    # the OSIsoft PI Developers Club client (osisoft.pidevclub.piwebapi) with NTLM instead of
    # Kerberos, so that it installs from wheels
    "osipiconnect": ["osipiconnect"],
}


def client_python(name: str) -> Path:
    """The python of ``name``'s virtualenv, created and installed when missing or stale."""
    venv = ROOT / "var" / "compat" / name
    python = venv / "bin" / "python"
    wanted = hashlib.sha256(CONSTRAINTS.read_bytes() + " ".join(CLIENTS[name]).encode()).hexdigest()
    stamp = venv / ".naia-pins"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    install = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*install, "-c", str(CONSTRAINTS), *CLIENTS[name]], check=True)
    stamp.write_text(wanted)
    return python


def drive(name: str, driver: str, *args: str) -> dict[str, Any]:
    """Run a driver in the client's virtualenv; its JSON outcome per scenario."""
    done = subprocess.run(
        [str(client_python(name)), str(DRIVERS / driver), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=DRIVERS,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcome: dict[str, Any] = json.loads(done.stdout)
    return outcome
