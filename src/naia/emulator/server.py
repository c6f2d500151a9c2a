"""Running the emulator: ``serve`` (blocking, for the CLI) and ``BackgroundServer`` (tests)."""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import time
from types import TracebackType

import uvicorn

from naia.emulator.app import create_app
from naia.emulator.settings import EmulatorSettings

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def serve(
    settings: EmulatorSettings, host: str = "127.0.0.1", port: int = 8080, log_level: str = "info"
) -> None:
    """Serve until interrupted. Bind to loopback unless told otherwise."""
    keep_heap_memory()
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, lifespan="on")


def keep_heap_memory() -> None:
    """Ask glibc to keep freed memory for reuse: multi-MB pages then skip fresh page faults.

    Process-wide, so only the dedicated server process does it. No-op off glibc.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(_M_MMAP_THRESHOLD, 256 * 1024 * 1024)
        libc.mallopt(_M_TRIM_THRESHOLD, 1024 * 1024 * 1024)
    except (OSError, AttributeError):
        return


class BackgroundServer:
    """uvicorn on a free loopback port in a daemon thread; a context manager."""

    def __init__(self, settings: EmulatorSettings, host: str = "127.0.0.1") -> None:
        config = uvicorn.Config(
            create_app(settings), host=host, port=0, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self.host = host
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/piwebapi"

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.01)
        sockets = self._server.servers[0].sockets
        self.port = int(sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
