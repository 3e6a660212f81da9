"""Start and stop real redis-server processes for tests (stopped by their own PID)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support import Proc, free_port, wait_until

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """One ``redis-server`` without persistence, in its own directory, on one port.

    ``restart()`` starts it again on the same port (the data is gone: no persistence).
    """

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.proc: Proc | None = None
        self.extra: tuple[str, ...] = ()  # more redis-server arguments

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *extra: str) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        if extra:  # kept for restart()
            self.extra = extra
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
                *self.extra,
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


REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
# Milliseconds before a silent node is failed over: small, so the failover test is quick.
CLUSTER_NODE_TIMEOUT_MS = 1000


class RedisClusterNodes:
    """A real Redis Cluster on free ports: ``primaries`` x (1 + ``replicas``) redis-server
    processes joined by ``redis-cli --cluster create``, each stopped by its own PID."""

    def __init__(self, directory: Path, primaries: int = 3, replicas: int = 0) -> None:
        self.directory = directory
        self.servers = [
            RedisServer(directory / f"node{n}") for n in range(primaries * (1 + replicas))
        ]
        self.replicas = replicas

    @property
    def url(self) -> str:
        """A ``redis+cluster://`` URL naming two seed nodes (the client finds the rest)."""
        seeds = ",".join(f"127.0.0.1:{s.port}" for s in self.servers[:2])
        return f"redis+cluster://{seeds}"

    def start(self) -> RedisClusterNodes:
        try:
            for server in self.servers:
                server.start(
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    str(CLUSTER_NODE_TIMEOUT_MS),
                    "--cluster-port",  # the bus port; the default (port + 10000) may not exist
                    str(free_port()),
                )
            addresses = [f"127.0.0.1:{s.port}" for s in self.servers]
            create = subprocess.run(
                [
                    *(REDIS_CLI, "--cluster", "create", *addresses),
                    *("--cluster-replicas", str(self.replicas), "--cluster-yes"),
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert create.returncode == 0, create.stdout + create.stderr
            assert wait_until(self._ready, timeout=30), self.info()
        except BaseException:
            self.stop()
            raise
        return self

    def cli(self, server: RedisServer, *args: str) -> str:
        done = subprocess.run(
            [REDIS_CLI, "-p", str(server.port), *args], capture_output=True, text=True, timeout=10
        )
        return done.stdout

    def info(self) -> str:
        return "\n".join(self.cli(s, "cluster", "info") for s in self.servers if s.proc)

    def _ready(self) -> bool:
        return all(
            "cluster_state:ok" in self.cli(s, "cluster", "info")
            and self.cli(s, "cluster", "nodes").count("connected") == len(self.servers)
            for s in self.servers
        )

    def primary_of(self, key: bytes) -> RedisServer:
        """The server that holds ``key``'s slot now."""
        slot = int(self.cli(self.servers[0], "cluster", "keyslot", key.decode()).strip())
        for server in self.servers:
            if server.proc is None:
                continue
            for line in self.cli(server, "cluster", "nodes").splitlines():
                fields = line.split()
                if "myself" in fields[2] and "master" in fields[2]:
                    for part in fields[8:]:
                        low, _, high = part.partition("-")
                        if low.isdigit() and int(low) <= slot <= int(high or low):
                            return server
        raise AssertionError(f"no primary serves slot {slot}:\n{self.info()}")

    def flush(self) -> None:
        """Empty every primary (replicas follow)."""
        import redis

        for server in self.servers:
            if server.proc is None:
                continue
            client = redis.Redis(port=server.port, socket_timeout=5)
            try:
                if client.info("replication")["role"] == "master":
                    client.flushall()
            finally:
                client.close()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
