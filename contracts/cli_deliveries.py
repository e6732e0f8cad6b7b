"""``sowebhook deliveries MOCK_URL``: the mock's delivery attempts, one line each, and with
``--follow`` as they happen (polling ``GET /__mock__/deliveries?since=<last id>`` every
``--interval`` seconds until interrupted).

The command speaks HTTP to any running mock; it never imports ``mockserver``. The filters are the
endpoint's own (``webhook``, ``event``, ``outcome``): the mock judges their values, and its 400
is shown as it says it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import click

from contracts.credentials import AUTH_FORMS, DEFAULT_AUTH, Credentials

__all__ = ["deliveries", "follow", "format_line"]

Fetch = Callable[[Mapping[str, str]], list[dict[str, Any]]]


def format_line(record: Mapping[str, Any]) -> str:
    """One attempt: time, id, webhook, event, EventId, attempt, status and outcome, target."""
    status = record.get("status")
    return "  ".join(
        [
            str(record.get("time") or "-"),
            f"#{record.get('id')}",
            f"webhook {record.get('webhook_id') if record.get('webhook_id') is not None else '-'}",
            str(record.get("event")),
            str(record.get("event_id")),
            f"retry {record.get('attempt')}",
            f"{status if status is not None else '---'} {record.get('outcome')}",
            str(record.get("target") or "-"),
        ]
    )


def follow(
    fetch: Fetch, filters: Mapping[str, str], wait: Callable[[], bool], *, once: bool = False
) -> Iterator[dict[str, Any]]:
    """Every attempt ``fetch`` returns, then (unless ``once``) the newer ones, asking for those
    after the last id seen; ``wait()`` paces the polls and ends them by returning True."""
    since: int | None = None
    while True:
        query = dict(filters) if since is None else {**filters, "since": str(since)}
        for record in fetch(query):
            since = max(since or 0, int(record.get("id") or 0))
            yield record
        if once or wait():
            return


def _pause(stop: threading.Event, interval: float) -> bool:
    """Wait ``interval`` seconds between polls (no busy loop); True once ``stop`` is set."""
    return stop.wait(interval)


def _http_fetch(url: str, credentials: Credentials, timeout: float, verify: bool) -> Fetch:
    import requests

    from contracts.poster import shown

    endpoint = url.rstrip("/") + "/__mock__/deliveries"
    named = shown(endpoint)  # what errors show: a password in the URL masked
    session = requests.Session()
    session.headers.update(credentials.headers())
    session.verify = verify

    def fetch(query: Mapping[str, str]) -> list[dict[str, Any]]:
        try:
            answer = session.get(endpoint, params=dict(query), timeout=timeout, allow_redirects=False)
        except requests.RequestException as error:
            raise click.ClickException(
                f"{named}: {type(error).__name__}: {error}".replace(endpoint, named)
            ) from None
        if answer.status_code != 200:
            try:
                body = answer.json()
                said = body.get("MessageDetail") or body.get("Message") or answer.text
            except ValueError:
                said = answer.text[:200]
            raise click.ClickException(f"{named} answered {answer.status_code}: {said}")
        try:
            records = answer.json()
        except ValueError:
            raise click.ClickException(
                f"{named} did not answer JSON: is {shown(url)} a sowebhook mock?"
            ) from None
        if not isinstance(records, list):
            raise click.ClickException(f"{named} did not answer a list: is {shown(url)} a sowebhook mock?")
        return records

    return fetch


@click.command("deliveries")
@click.argument("url")
@click.option("--auth", default=DEFAULT_AUTH, show_default=True, help=AUTH_FORMS + ".")
@click.option("--webhook", "webhook_id", type=click.IntRange(0), help="Only this webhook's attempts.")
@click.option("--event", help="Only this event (any letter case).")
@click.option("--outcome", help="Only attempts that came to this: delivered, failed or recorded.")
@click.option(
    "--follow", "following", is_flag=True, help="Keep polling for new attempts until interrupted (Ctrl-C)."
)
@click.option(
    "--interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.05, 3600),
    help="Seconds between polls with --follow.",
)
@click.option("--json", "as_json", is_flag=True, help="Print each attempt as one line of JSON.")
@click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds to wait for each answer.",
)
@click.option("--insecure", is_flag=True, help="Do not verify the mock's TLS certificate.")
def deliveries(
    url: str,
    auth: str,
    webhook_id: int | None,
    event: str | None,
    outcome: str | None,
    following: bool,
    interval: float,
    as_json: bool,
    timeout: float,
    insecure: bool,
) -> None:
    """Print the mock's webhook delivery attempts (at MOCK_URL), one line each."""
    try:
        credentials = Credentials.parse(auth)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    filters = {
        name: str(value)
        for name, value in (("webhook", webhook_id), ("event", event), ("outcome", outcome))
        if value is not None
    }
    stop = threading.Event()
    try:
        for record in follow(
            _http_fetch(url, credentials, timeout, not insecure),
            filters,
            lambda: _pause(stop, interval),
            once=not following,
        ):
            click.echo(json.dumps(record, sort_keys=True) if as_json else format_line(record))
    except KeyboardInterrupt:  # --follow ends on Ctrl-C
        stop.set()
