"""The ``sowebhook`` command line: each subcommand is one library call."""

from __future__ import annotations

import sys

import click

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
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free port).")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), help="Keep state in this SQLite file.")
@click.option("--profile", type=click.Choice(["onsite", "online"]), help="Authentication profile [default: onsite].")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), help="A JSON or TOML configuration.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256), help="Worker threads.")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False), help="CA bundle to trust for webhook targets.")
@click.option("--allow-network", "networks", multiple=True, help="Network deliveries may reach (repeatable) [default: loopback].")
@click.option("--allow-http-targets", is_flag=True, help="Opt in: allow plain-HTTP TargetUrls.")
@click.option("--no-registration-ping", is_flag=True, help="Opt in: save webhooks without pinging their TargetUrl.")
def mock(
    host: str,
    port: int,
    db_path: str | None,
    profile: str | None,
    config_file: str | None,
    threads: int,
    ca_file: str | None,
    networks: tuple[str, ...],
    allow_http_targets: bool,
    no_registration_ping: bool,
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
        delivery: dict[str, object] = {}
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
    raise SystemExit(serve(config, host=host, port=port, threads=threads))


@main.command("receiver-check")
@click.argument("url")
@click.option("--secret", required=True, help="The webhook's Secret the receiver verifies with.")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False), help="CA bundle to trust for the receiver.")
@click.option("--insecure", is_flag=True, help="Do not verify the receiver's certificate.")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for each answer.")
def receiver_check(url: str, secret: str, ca_file: str | None, insecure: bool, timeout: float) -> None:
    """Send signed deliveries to a webhook receiver and report, check by check, how it answers."""
    from contracts.receiver_check import check_receiver, url_sender

    report = check_receiver(url_sender(url, ca_file=ca_file, verify=not insecure, timeout=timeout), secret, target=url)
    click.echo(report.render())
    raise SystemExit(0 if report.ok else 1)


if __name__ == "__main__":  # pragma: no cover
    main()
