"""The developer's loop on the command line: ``sowebhook listen``, ``send`` and ``events``.

Each command is one library call: ``contracts.listen.Listener``, ``contracts.send`` and
``contracts.events.describe``; ``register(main)`` adds them to the ``sowebhook`` group.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from contracts.listen import Listener

__all__ = ["events", "listen", "register", "send"]

_SECRET_HELP = "The webhook's Secret (or the environment variable SOWEBHOOK_SECRET)."


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free port)."
)
@click.option(
    "--secret", envvar="SOWEBHOOK_SECRET", help=_SECRET_HELP + " Without it signatures are not checked."
)
@click.option("--cert", type=click.Path(dir_okay=False), help="Serve HTTPS with this certificate (PEM)...")
@click.option("--key", type=click.Path(dir_okay=False), help="...and this private key (PEM).")
@click.option(
    "--save", "save_dir", type=click.Path(file_okay=False), help="Write each delivery as a fixture file here."
)
@click.option("--forward", help="Pass each delivery unchanged to this URL; its answer becomes the answer.")
@click.option(
    "--forward-ca-file",
    type=click.Path(exists=True, dir_okay=False),
    help="CA bundle to trust for --forward.",
)
@click.option(
    "--respond", type=click.IntRange(100, 599), help="Answer every delivery but the ping with this status."
)
@click.option(
    "--max-body",
    default=1024 * 1024,
    show_default=True,
    type=click.IntRange(1),
    help="Refuse larger bodies with 413.",
)
@click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds a client has to send its body, and --forward's app to answer.",
)
def listen(
    host: str,
    port: int,
    secret: str | None,
    cert: str | None,
    key: str | None,
    save_dir: str | None,
    forward: str | None,
    forward_ca_file: str | None,
    respond: int | None,
    max_body: int,
    timeout: float,
) -> None:
    """Receive SuperOffice's deliveries (behind your tunnel), check and print each, until Ctrl-C."""
    from contracts.listen import Listener, ListenError
    from contracts.poster import shown

    if forward and respond is not None:
        raise click.UsageError("--forward and --respond both decide the answer: choose one")
    listener = Listener(
        secret=secret or None,
        host=host,
        port=port,
        cert=cert,
        key=key,
        save_dir=save_dir,
        forward=forward,
        respond=respond,
        max_body=max_body,
        read_timeout=timeout,
        forward_timeout=timeout,
        forward_ca_file=forward_ca_file,
        keep=100,
        echo=_echo_line(),  # it prints and saves them: holds few
    )
    try:
        listener.start()
    except ListenError as error:
        raise click.ClickException(str(error)) from None
    answer = (
        f"forwarding to {shown(forward)}"
        if forward
        else f"answering {respond if respond is not None else 200}"
    )
    checks = "checking signatures" if secret else "NOT checking signatures (no --secret)"
    saving = f", saving to {save_dir}" if save_dir else ""
    click.echo(f"listening on {listener.url} ({checks}, {answer}{saving}); Ctrl-C stops", err=True)
    try:
        wait_for_signal(listener)
    finally:
        listener.stop()


def _echo_line() -> Callable[[str], None]:
    lock = threading.Lock()

    def echo(line: str) -> None:
        with lock:
            click.echo(line)

    return echo


def wait_for_signal(listener: Listener) -> None:
    """Block, while ``listener`` serves, until SIGINT or SIGTERM."""
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda *_: stop.set())
    stop.wait()


@click.command()
@click.argument("url")
@click.option("--secret", envvar="SOWEBHOOK_SECRET", required=True, help=_SECRET_HELP)
@click.option(
    "--event",
    help="Build a documented event's payload (sowebhook events lists them); with --body: the event header's name.",
)
@click.option("--test", "ping", is_flag=True, help="Send the registration ping (the test event).")
@click.option("--fixture", type=click.Path(dir_okay=False), help="Send a saved delivery again, re-signed.")
@click.option(
    "--body",
    "body_file",
    type=click.Path(dir_okay=False),
    help="Send this file's bytes as the body, signed as they are.",
)
@click.option(
    "--primary-key",
    default=0,
    show_default=True,
    type=click.IntRange(-(2**31), 2**31 - 1),
    help="With --event.",
)
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="KEY=VALUE",
    help="With --event: a FieldValues entry (repeatable; VALUE as JSON when it is JSON).",
)
@click.option("--webhook-name", default="sowebhook", show_default=True, help="With --event or --test.")
@click.option(
    "--context",
    "context_identifier",
    default="Default",
    show_default=True,
    help="ContextIdentifier (Online: Cust12345).",
)
@click.option(
    "--same-event-id", is_flag=True, help="With --fixture: keep its EventId (a retry) instead of a fresh one."
)
@click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds for the whole exchange.",
)
@click.option(
    "--ca-file", type=click.Path(exists=True, dir_okay=False), help="CA bundle to trust for the receiver."
)
@click.option("--insecure", is_flag=True, help="Do not verify the receiver's certificate.")
def send(
    url: str,
    secret: str,
    event: str | None,
    ping: bool,
    fixture: str | None,
    body_file: str | None,
    primary_key: int,
    fields: tuple[str, ...],
    webhook_name: str,
    context_identifier: str,
    same_event_id: bool,
    timeout: float,
    ca_file: str | None,
    insecure: bool,
) -> None:
    """Sign and POST one delivery with SuperOffice's headers; exit 0 only when the receiver answers 200."""
    from contracts import send as sending
    from contracts.delivery_fixture import FixtureError
    from contracts.poster import MAX_ANSWER_BYTES, PostError

    chosen = [
        name
        for name, given in (
            ("--event", event and not body_file),
            ("--test", ping),
            ("--fixture", fixture),
            ("--body", body_file),
        )
        if given
    ]
    if len(chosen) != 1:
        raise click.UsageError("say what to send: exactly one of --event, --test, --fixture, --body")
    if not secret:
        raise click.UsageError("--secret is empty: a delivery is signed with the webhook's Secret")
    try:
        if fixture:
            outgoing = sending.from_fixture(fixture, secret, same_event_id=same_event_id)
        elif body_file:
            with open(body_file, "rb") as file:
                data = file.read(16 * 1024 * 1024 + 1)
            if len(data) > 16 * 1024 * 1024:
                raise click.ClickException(f"{body_file}: over 16 MiB")
            outgoing = sending.from_body(data, secret, event=event)
        else:
            values = dict(sending.parse_field(text) for text in fields)
            outgoing = sending.from_event(
                "test" if ping else str(event),
                secret,
                primary_key=primary_key,
                fields=values,
                webhook_name=webhook_name,
                context_identifier=context_identifier,
            )
        for note in outgoing.notes:
            click.echo(f"note: {note}", err=True)
        answer = outgoing.send(url, timeout=timeout, ca_file=ca_file, verify=not insecure)
    except (FixtureError, PostError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(
            f"{error.filename or ''}: {error.strerror or error}".lstrip(": ")
        ) from None
    if answer.truncated:  # megabytes back: one line, non-zero, whatever the status
        raise click.ClickException(
            f"{answer.status} {answer.reason}: the answer's body is over {MAX_ANSWER_BYTES} bytes; the rest was not read"
        )
    click.echo(answer.summary())
    raise SystemExit(0 if answer.status == 200 else 1)


@click.command()
def events() -> None:
    """List the documented events and what their payloads carry."""
    from contracts.events import describe

    click.echo(describe())


def register(main: click.Group) -> None:
    for command in (listen, send, events):
        main.add_command(command)
