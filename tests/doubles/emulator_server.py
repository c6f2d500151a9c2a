"""The PI Web API emulator served by uvicorn on a free loopback port, in a daemon thread."""

from __future__ import annotations

import threading

import uvicorn

from naia.emulator.app import create_app
from naia.emulator.settings import EmulatorSettings
from tests.helpers import wait_for


class ThreadedEmulator:
    """``with ThreadedEmulator(settings) as url:`` — url ends in ``/piwebapi``."""

    def __init__(self, settings: EmulatorSettings) -> None:
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        wait_for(lambda: self.server.started or not self.thread.is_alive(), 20, "the emulator")
        assert self.server.started, "the emulator's thread ended before it started"
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/piwebapi"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
