"""The mock's log line: the standard library's own format, whole lines from many threads."""

from __future__ import annotations

import io
import logging
import threading

from hypothesis import given
from hypothesis import strategies as st

from mockserver import logline


@given(created=st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False), message=st.text(max_size=40))
def test_a_line_is_what_logging_s_own_formatter_writes(created: float, message: str) -> None:
    record = logging.LogRecord("sowebhook.mock", logging.INFO, __file__, 1, "%s", (message,), None)
    record.created, record.msecs = created, (created - int(created)) * 1000
    reference = logging.Formatter(logline.LOG_FORMAT)  # the oracle: logging's default time stamp
    ours = logline._Formatter(logline.LOG_FORMAT)
    assert ours.format(record) == reference.format(record)
    assert ours.format(record) == reference.format(record)  # from the cached second too


def test_lines_from_many_threads_come_out_whole() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    root.handlers.clear()
    try:
        logline.configure(logging.INFO, stream)
        log = logging.getLogger("sowebhook.mock")
        start = threading.Barrier(8)

        def write(n: int) -> None:
            start.wait()
            for i in range(200):
                log.info("thread %d line %d %s", n, i, "x" * 300)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1600
    assert all(
        line.endswith(" " + "x" * 300) and line.count(" sowebhook.mock thread ") == 1 for line in lines
    )
    assert sorted(line.split(" sowebhook.mock ")[1].rsplit(" ", 1)[0] for line in lines) == sorted(
        f"thread {n} line {i}" for n in range(8) for i in range(200)
    )
