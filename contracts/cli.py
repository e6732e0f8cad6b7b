"""The ``sowebhook`` command line: each subcommand is one library call."""

from __future__ import annotations

import sys
from typing import Any

import click

from contracts.cli_deliveries import deliveries
from contracts.cli_loop import register as register_loop
from contracts.credentials import AUTH_FORMS, DEFAULT_AUTH, Credentials
from contracts.spec import load


@click.group()
@click.version_option(package_name="superoffice-webhook-contracts")
def main() -> None:
    """Contract testing and a faithful mock for SuperOffice's Webhook agent."""


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of the YAML document.")
def spec(as_json: bool) -> None:
    """Print the bundled OpenAPI document."""
    contract = load()
    text = contract.as_json() + "\n" if as_json else contract.text
    sys.stdout.write(text)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free port)."
)
@click.option(
    "--db",
    "db_path",
    metavar="FILE|URL",
    help="Keep state in this SQLite file, or in PostgreSQL (postgresql://user:password@host/dbname), which replicas share.",
)
@click.option(
    "--profile", type=click.Choice(["onsite", "online"]), help="Authentication profile [default: onsite]."
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A JSON or TOML configuration.",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes; more than one share state through SQLite (--db, else a temporary file).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    help="Threads per process [default: 4 with one process, 1 per worker with --workers].",
)
@click.option("--quiet", is_flag=True, help="No log line per request (warnings and errors only).")
@click.option(
    "--stream-bodies",
    is_flag=True,
    help="Hand request bodies to the app as they arrive (granian WSGI): faster, but a client that stalls mid-body holds a thread.",
)
@click.option(
    "--ca-file", type=click.Path(exists=True, dir_okay=False), help="CA bundle to trust for webhook targets."
)
@click.option(
    "--allow-network",
    "networks",
    multiple=True,
    help="Network deliveries may reach (repeatable) [default: loopback].",
)
@click.option("--allow-http-targets", is_flag=True, help="Opt in: allow plain-HTTP TargetUrls.")
@click.option(
    "--no-registration-ping", is_flag=True, help="Opt in: save webhooks without pinging their TargetUrl."
)
@click.option(
    "--unknown-properties",
    type=click.Choice(["ignore", "reject"]),
    help="A body member the contract does not know: ignored as the server does (journalled), or refused with 400 [default: ignore].",
)
def mock(
    host: str,
    port: int,
    db_path: str | None,
    profile: str | None,
    config_file: str | None,
    workers: int,
    threads: int | None,
    quiet: bool,
    stream_bodies: bool,
    ca_file: str | None,
    networks: tuple[str, ...],
    allow_http_targets: bool,
    no_registration_ping: bool,
    unknown_properties: str | None,
) -> None:
    """Run the mock of the Webhook agent until SIGINT or SIGTERM."""
    from dataclasses import replace

    from mockserver.config import ConfigError, MockConfig
    from mockserver.server import serve

    try:
        config = MockConfig.from_file(config_file) if config_file else MockConfig()
        changes: dict[str, object] = {"response_validation": "report"}
        if db_path:
            changes["db_path"] = db_path
        if profile:
            changes["profile"] = profile
        if unknown_properties:
            changes["unknown_properties"] = unknown_properties
        delivery: dict[str, Any] = {}
        if ca_file:
            delivery["ca_file"] = ca_file
        if networks:
            delivery["allowed_networks"] = tuple(networks)
        if allow_http_targets:
            delivery["allow_http"] = True
        if no_registration_ping:
            delivery["registration_ping"] = False
        if delivery:
            changes["delivery"] = replace(config.delivery, **delivery)
        config = config.evolve(**changes)
    except (ConfigError, ValueError, OSError) as error:
        raise click.UsageError(str(error)) from None
    try:
        code = serve(
            config,
            host=host,
            port=port,
            workers=workers,
            threads=threads,
            quiet=quiet,
            stream_bodies=stream_bodies,
        )
    except OSError as error:  # the port, or a store that cannot be opened (its reason, a password masked)
        raise click.ClickException(str(error)) from None
    raise SystemExit(code)


@main.command("receiver-check")
@click.argument("url")
@click.option("--secret", required=True, help="The webhook's Secret the receiver verifies with.")
@click.option(
    "--ca-file", type=click.Path(exists=True, dir_okay=False), help="CA bundle to trust for the receiver."
)
@click.option("--insecure", is_flag=True, help="Do not verify the receiver's certificate.")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for each answer.")
def receiver_check(url: str, secret: str, ca_file: str | None, insecure: bool, timeout: float) -> None:
    """Send signed deliveries to a webhook receiver and report, check by check, how it answers."""
    from contracts.receiver_check import check_receiver, url_sender

    report = check_receiver(
        url_sender(url, ca_file=ca_file, verify=not insecure, timeout=timeout), secret, target=url
    )
    click.echo(report.render())
    raise SystemExit(0 if report.ok else 1)


@main.command()
@click.argument("url")
@click.option("--auth", default=DEFAULT_AUTH, show_default=True, help=AUTH_FORMS + ".")
@click.option(
    "--target-url", help="An HTTPS URL that answers 200, for webhooks the server pings when they are saved."
)
@click.option(
    "--receiver", is_flag=True, help="Start an HTTPS receiver on loopback and use it as --target-url."
)
@click.option("--max-examples", default=20, show_default=True, type=click.IntRange(1, 10000))
@click.option(
    "--rate", default=0.0, show_default=True, help="At most this many requests a second (0: no limit)."
)
@click.option("--check", "checks", multiple=True, help="Run only this check (repeatable).")
@click.option(
    "--junit", "junit_file", type=click.Path(dir_okay=False, writable=True), help="Write a JUnit XML report."
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, writable=True),
    help="Write a self-contained HTML report: checks, failures as curl, coverage, cleanup.",
)
@click.option("--insecure", is_flag=True, help="Do not verify the server's TLS certificate.")
def verify(
    url: str,
    auth: str,
    target_url: str | None,
    receiver: bool,
    max_examples: int,
    rate: float,
    checks: tuple[str, ...],
    junit_file: str | None,
    html_file: str | None,
    insecure: bool,
) -> None:
    """Check a server (the mock, or a real SuperOffice) against the contract, with Hypothesis."""
    from contextlib import ExitStack
    from pathlib import Path

    from contracts.checks import CHECKS
    from contracts.runner import verify as run_verify

    unknown = set(checks) - set(CHECKS)
    if unknown:
        raise click.UsageError(f"unknown checks: {', '.join(sorted(unknown))}; known: {', '.join(CHECKS)}")
    try:
        credentials = Credentials.parse(auth)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    reports = {
        option: Path(given) for option, given in (("--junit", junit_file), ("--html", html_file)) if given
    }
    for (
        option,
        path,
    ) in reports.items():  # before any request: its directories made, as pytest's --junitxml does
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            existed = path.exists()
            path.open("a", encoding="utf-8").close()
            if not existed:
                path.unlink()
        except OSError as error:
            where = f" ({error.filename})" if error.filename and str(error.filename) != str(path) else ""
            raise click.BadParameter(
                f"cannot write {path}: {error.strerror or error}{where}", param_hint=option
            ) from None
    with ExitStack() as stack:
        if receiver:
            from contracts.receiver import Receiver

            started = stack.enter_context(Receiver())
            target_url = started.url
            click.echo(
                f"receiver at {started.url} (CA: {started.ca_file}; start the mock with --ca-file so it trusts it)"
            )
        report = run_verify(
            url,
            credentials=credentials,
            target_url=target_url,
            max_examples=max_examples,
            min_interval=1.0 / rate if rate > 0 else 0.0,
            verify_tls=not insecure,
            checks=list(checks) or None,
        )
    click.echo(report.render())
    written = True
    for option, path in reports.items():
        try:
            if option == "--junit":
                path.write_text(report.junit(), encoding="utf-8")
            else:
                from contracts.report_html import verify_html
                from mockserver import masking

                path.write_text(verify_html(report, masking), encoding="utf-8")
        except OSError as error:  # it could be written when the run began: said, never a traceback
            click.echo(f"{option}: not written ({error.strerror or error}: {path})", err=True)
            written = False
    raise SystemExit(0 if report.ok and written else 1)


main.add_command(deliveries)
register_loop(main)  # listen, send, events

if __name__ == "__main__":  # pragma: no cover
    main()
