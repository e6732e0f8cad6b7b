"""The mock's log: one line a request on standard error, as cheap as a line can be.

logging's ``StreamHandler`` takes its handler lock around every line, and under load the mock's
threads queue on it (py-spy put 5% of a worker's Python time in ``Handler.acquire`` and
``release``: bench/README.md, the breakdown). A line here is one ``write`` of the whole line, which
the stream's own buffer lock keeps whole, and standard error is line-buffered whenever it is not
a terminal (Python 3.9+), so every line is out as soon as it is written; the time stamp's
``strftime`` is done once a second, not once a line.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TYPE_CHECKING, TextIO

__all__ = ["LOG_FORMAT", "configure"]

LOG_FORMAT = "%(asctime)s %(name)s %(message)s"


if TYPE_CHECKING:
    _StreamHandler = logging.StreamHandler[TextIO]
else:  # not subscriptable at run time before Python 3.11
    _StreamHandler = logging.StreamHandler


class _LineHandler(_StreamHandler):
    def createLock(self) -> None:  # noqa: N802 - logging's name
        self.lock = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
        except Exception:  # noqa: BLE001 - logging's contract: report, never raise
            self.handleError(record)


class _Formatter(logging.Formatter):
    """``asctime`` as logging writes it by default (``2026-11-29 19:40:52,123``)."""

    _second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        second, text = self._second
        if int(record.created) != second:
            text = time.strftime("%Y-%m-%d %H:%M:%S", self.converter(record.created))
            self._second = (int(record.created), text)  # one assignment: a racing thread sees a pair
        return f"{text},{int(record.msecs):03d}"


def configure(level: int, stream: TextIO | None = None) -> None:
    """Log at ``level`` to ``stream`` (standard error) in the mock's format, unless logging is
    configured already (as ``logging.basicConfig`` does)."""
    handler = _LineHandler(stream or sys.stderr)
    handler.setFormatter(_Formatter(LOG_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
