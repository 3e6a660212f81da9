"""Start and stop real redis-server processes for tests (stopped by their own PID)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support import Proc, free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """One ``redis-server`` without persistence, in its own directory, on one port.

    ``restart()`` starts it again on the same port (the data is gone: no persistence).
    """

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.proc = Proc(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--enable-debug-command",  # DEBUG SLEEP simulates a slow Redis
                "local",
            ],
            cwd=self.directory,
        )
        self.proc.wait_for(r"Ready to accept connections", timeout=10)
        return self

    def kill(self) -> None:
        """SIGKILL by PID, as a crash would (the port is free afterwards)."""
        if self.proc is not None:
            self.proc.signal(9)
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
            self.proc = None

    def restart(self) -> None:
        self.kill()
        self.start()
