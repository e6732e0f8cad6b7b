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


if __name__ == "__main__":  # pragma: no cover
    main()
