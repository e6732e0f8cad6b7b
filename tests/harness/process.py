"""``sowebhook mock`` as a process: ``start_mock`` (the process and its URL), ``MockProcess``
(killed with its workers, as a crash would) and ``Sample`` (memory, files, threads of its tree)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def start_mock(*args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "contracts.cli", "mock", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # blocks until the mock says it is ready (no sleeping)
    assert line.startswith("sowebhook mock ready at http://127.0.0.1:"), line + (
        process.stderr.read() if process.poll() is not None else ""
    )
    return process, line.split()[4]


class MockProcess:
    """``sowebhook mock --db FILE`` in a session of its own, so that it and its workers can be
    killed together (``kill``), as a crash would; ``stop`` ends it as a user does (SIGTERM)."""

    def __init__(
        self, db: str | Path, *args: str, workers: int = 1, stderr: str | Path | None = None
    ) -> None:
        self.db = str(db)  # a SQLite file, or a postgresql:// URL (then give ``stderr``, a file's path)
        self.stderr_path = Path(stderr) if stderr is not None else Path(f"{self.db}.stderr")
        with open(self.stderr_path, "ab") as stderr:  # a file, not a pipe: a chatty mock never blocks on it
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "contracts.cli",
                    "mock",
                    "--port",
                    "0",
                    "--db",
                    self.db,
                    "--quiet",
                    "--workers",
                    str(workers),
                    *args,
                ],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # blocks until the mock says it is ready
        if not line.startswith("sowebhook mock ready at http://127.0.0.1:"):
            self.kill()
            raise AssertionError(line + self.stderr())
        self.url = line.split()[4]
        self.port = int(self.url.rsplit(":", 1)[1])

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL to the whole process group: the server and every worker, at once."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.communicate(timeout=30)
        return self.process.returncode

    def __enter__(self) -> MockProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.kill()

    def pids(self) -> list[int]:
        """The server and its descendants (the workers)."""
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            try:
                for task in os.listdir(f"/proc/{pid}/task"):
                    todo += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
            except FileNotFoundError:
                pass
        return found

    def sample(self) -> Sample:
        return Sample.of(self.pids())


@dataclass(frozen=True)
class Sample:
    """Resident memory, open file descriptors and threads of a process tree, summed."""

    rss_kb: int
    fds: int
    threads: int
    processes: int

    @classmethod
    def of(cls, pids: list[int]) -> Sample:
        rss = fds = threads = alive = 0
        for pid in pids:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                fds += len(os.listdir(f"/proc/{pid}/fd"))
                threads += len(os.listdir(f"/proc/{pid}/task"))
            except FileNotFoundError:
                continue
            rss += int(status.split("VmRSS:")[1].split()[0])
            alive += 1
        return cls(rss, fds, threads, alive)
