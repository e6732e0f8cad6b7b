"""The durable delivery outbox of a SQL store: events on their way, as rows that every process on
the store serves.

An event to deliver to a webhook is a row of the store's outbox: its body, the attempt to make
next and when (``OutboxJob``). Each process runs ``delivery.workers`` threads that claim the
earliest due row nobody holds (``SharedStore.outbox_claim``: ``FOR UPDATE SKIP LOCKED`` in
PostgreSQL, a ``BEGIN IMMEDIATE`` transaction under SQLite), hold it for a lease, make the attempt
(``attempt``, the caller's: ``mockserver.delivery``) and then either delete the row or put it back
due after the next wait of the schedule (1 s, then 4 s), unclaimed. So each attempt is made by one
worker of one process, the schedule holds whichever process makes the next attempt, and the rows
of a process that dies are left to the others: between attempts they are nobody's; during an
attempt its lease runs out (``lease_seconds``), and that attempt is made again (at least once).

A worker waits for the next due row, at most ``delivery.poll_seconds`` (rows other processes add
are seen that late); a row this process adds wakes its workers at once. A serving process runs its
workers from its start (``start``); an app built in a test only while rows it added are on their
way, so that it leaves no thread polling a database behind.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from mockserver.config import DeliveryConfig
from mockserver.rows import OutboxJob, SharedStore

__all__ = ["Outbox"]

log = logging.getLogger("sowebhook.delivery")

# attempt(job) makes the job's attempt: True when no further attempt follows (delivered, refused for
# good, the webhook gone or stopped)
Attempt = Callable[[OutboxJob], bool]


class Outbox:
    def __init__(self, store: SharedStore, settings: DeliveryConfig, attempt: Attempt) -> None:
        self.store = store
        self.settings = settings
        self.attempt = attempt
        # an attempt is one bounded POST and a few statements: a lease of twice its deadline
        self.lease_seconds = 2 * settings.timeout_seconds + 5
        self._wake = threading.Condition()
        self._woken = False
        self._stopping = False
        self._serving = False  # start(): every process's rows, from the start on
        self._workers: list[threading.Thread] = []
        self._started = threading.Lock()

    def put(self, webhook_id: int, event: str, body: bytes) -> None:
        """A new event for the webhook: its first attempt due now."""
        self.store.outbox_put(OutboxJob(webhook_id, event, body.decode("utf-8")), 0.0)
        self._staff()
        with self._wake:
            self._woken = True
            self._wake.notify_all()

    def start(self) -> None:
        """Serve the outbox from now on, every process's rows, until ``close`` (a serving process).
        Before, workers run only while rows this process added are on their way: an app in a test
        leaves no thread polling its database behind."""
        self._serving = True
        self._staff()

    def _staff(self) -> None:
        with self._started:
            self._workers = [worker for worker in self._workers if worker.is_alive()]
            for n in range(len(self._workers), 0 if self._stopping else self.settings.workers):
                worker = threading.Thread(target=self._work, name=f"sowebhook-outbox-{n}", daemon=True)
                worker.start()
                self._workers.append(worker)

    def _work(self) -> None:
        while not self._stopping:
            try:
                job = self.store.outbox_claim(self.lease_seconds)
            except Exception:  # noqa: BLE001 - the database away for a moment must not end the worker
                log.exception("claiming from the outbox failed")
                job = None
            if job is None:
                if self._wait():
                    continue
                with (
                    self._started
                ):  # nothing on its way: end, unless a row came meanwhile (put staffs after it)
                    if self.store.outbox_next() is None:
                        self._workers = [w for w in self._workers if w is not threading.current_thread()]
                        return
                continue
            self._serve(job)
            with self._wake:
                self._wake.notify_all()  # a drain waiting in this process looks again

    def _serve(self, job: OutboxJob) -> None:
        try:
            done = self.attempt(job)
        except Exception:  # noqa: BLE001 - a delivery bug must not kill the worker
            log.exception("delivery failed unexpectedly")
            done = True
        try:
            if done or job.attempt + 1 >= self.settings.attempts:
                self.store.outbox_done(job.id)  # three failed attempts: the event is discarded
            else:
                wait = self.settings.retry_waits[job.attempt]
                self.store.outbox_put(replace(job, attempt=job.attempt + 1), wait)
        except Exception:  # noqa: BLE001 - the row's lease runs out, and another worker retries it
            log.exception("updating the outbox failed")

    def _wait(self) -> bool:
        """Wait for the next due row, or rows of others; False: the outbox is empty and this
        process does not serve it (``start``), so the worker may end."""
        try:
            due = self.store.outbox_next()
        except Exception:  # noqa: BLE001 - looked at again after the poll
            due = self.settings.poll_seconds
        if due is None and not self._serving:
            return False
        timeout = (
            self.settings.poll_seconds if due is None else min(max(due, 0.001), self.settings.poll_seconds)
        )
        with self._wake:
            if not self._woken and not self._stopping:
                self._wake.wait(timeout)
            self._woken = False
        return True

    def drain(self, timeout: float) -> bool:
        """Wait until the outbox is empty (every process's rows: a claimed row stays until its
        attempt is done); False on timeout."""
        deadline = time.monotonic() + timeout
        while self.store.outbox_count():
            remaining = deadline - time.monotonic()
            if (
                not remaining > 0
            ):  # a timeout of NaN too: no wait of NaN, which returns at once, again and again
                return False
            with self._wake:
                self._wake.wait(min(remaining, self.settings.poll_seconds))
        return True

    def close(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        with self._started:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.join(timeout=self.settings.timeout_seconds + 1)
