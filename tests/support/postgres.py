"""A throwaway PostgreSQL cluster for tests and CI, from the machine's own PostgreSQL binaries.

``.ci/run`` starts one cluster for the whole run with ``python -m
tests.support.postgres up DIR`` (it prints the URL, which CI exports as
``STATEWRIGHT_TEST_POSTGRES``) and stops it with ``down DIR``. Tests get a
fresh database per test from the ``postgres_url`` fixture in
``tests/support/postgres_fixtures.py``; when the variable is unset they start a cluster
of their own here, and the fault tests always do (they stop and start it).

The cluster is made the way a careful operator makes one, only smaller:
``initdb`` into a temporary folder with a generated password for the
``statewright`` superuser, ``scram-sha-256`` for TCP on loopback (so the
password really is checked), trust only on the unix socket inside that
folder, TLS on with a certificate of a throwaway authority when asked.
``initdb`` refuses to run as root (PostgreSQL's own rule), so as root the
cluster belongs to the ``postgres`` system user that Debian's package creates
and every server command runs through ``runuser``.

Only the standard library here: CI runs ``up`` before anything else is needed.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

USER: Final = "statewright"
#: Debian installs each major version's server binaries here (``apt install postgresql``).
DEBIAN_BINARIES: Final = "/usr/lib/postgresql/*/bin"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (newest Debian version first, then PATH), or None."""
    candidates = sorted(glob.glob(DEBIAN_BINARIES), key=_version_key, reverse=True)
    for folder in candidates:
        if os.access(os.path.join(folder, "initdb"), os.X_OK):
            return Path(folder)
    found = shutil.which("initdb")
    return Path(os.path.realpath(found)).parent if found else None


def _version_key(folder: str) -> tuple[int, ...]:
    part = Path(folder).parent.name
    return tuple(int(p) for p in part.split(".") if p.isdigit())


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """One PostgreSQL cluster in ``folder``: data, socket, log, password and port live there."""

    folder: Path

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    @property
    def password(self) -> str:
        return (self.folder / "password").read_text().strip()

    @property
    def port(self) -> int:
        return int((self.folder / "port").read_text())

    @property
    def url(self) -> str:
        """The superuser's URL on loopback TCP, password included."""
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/postgres"

    # -- commands ---------------------------------------------------------------------
    def _run(self, *argv: str) -> None:
        binaries = find_binaries()
        if binaries is None:
            raise PostgresUnavailable("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
        command = [str(binaries / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip()
            if self.log.exists():
                detail += "\n" + self.log.read_text()[-2000:]
            raise RuntimeError(f"{argv[0]} failed ({result.returncode}): {detail}")

    def create(self, *, tls: tuple[Path, Path] | None = None, durable: bool = False) -> None:
        """initdb into the folder; ``tls`` = (certificate, key) turns TLS on.

        ``durable`` keeps PostgreSQL's default fsync and synchronous commit (for
        benchmarks); tests run without them.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "password").write_text(secrets.token_urlsafe(18))
        (self.folder / "port").write_text(str(free_port()))
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            for name in ("password", "port"):
                shutil.chown(self.folder / name, "postgres")
        self.folder.chmod(0o700)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            USER,
            f"--pwfile={self.folder / 'password'}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--no-sync",
            "--no-instructions",
            "-E",
            "UTF8",
            "--locale=C",
        )
        settings = [
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            f"unix_socket_directories = '{self.folder}'",
            "max_connections = 200",
        ]
        if not durable:
            # A test cluster: losing it on power loss is fine, speed is not.
            settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        if tls is not None:
            cert, key = tls
            for source, name in ((cert, "server.crt"), (key, "server.key")):
                target = self.data / name
                shutil.copyfile(source, target)
                target.chmod(0o600)
                if os.geteuid() == 0:
                    shutil.chown(target, "postgres")
            settings += ["ssl = on", "ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'"]
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# statewright test cluster\n" + "\n".join(settings) + "\n")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


def main(argv: list[str]) -> int:
    usage = "usage: python -m tests.support.postgres up [--durable] FOLDER | down FOLDER"
    durable = "--durable" in argv
    argv = [a for a in argv if a != "--durable"]
    if len(argv) != 2 or argv[0] not in ("up", "down"):
        print(usage, file=sys.stderr)
        return 2
    cluster = Cluster(Path(argv[1]))
    if argv[0] == "up":
        cluster.create(durable=durable)
        cluster.start()
        print(cluster.url)
    elif cluster.running():
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
