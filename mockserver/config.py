"""The mock's configuration: one typed object, with defaults that make it usable at once.

The defaults give the seed page's own credentials (``Authorization: Basic dGplMDpUamUw`` is user
``tje0`` with password ``Tje0``), a ticket, a bearer token and an XSRF session for the same user,
and, for the online profile, one application that was granted the Webhook agent.

A configuration file (``--config FILE``, JSON or TOML) holds the same fields as
:class:`MockConfig`; see ``docs/mock.md``.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from contracts.credentials import DEFAULT_PASSWORD, DEFAULT_USER

__all__ = ["Application", "Associate", "ConfigError", "DeliveryConfig", "Limits", "MockConfig", "User"]

# A MockConfig as JSON, for processes that build their own app (mockserver.wsgi, worker processes).
ENVIRONMENT_VARIABLE = "SOWEBHOOK_MOCK_CONFIG"

Profile = Literal["onsite", "online"]


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the field."""


@dataclass(frozen=True)
class Associate:
    """The user as SuperOffice describes it in RegisteredAssociate/UpdatedAssociate."""

    associate_id: int
    name: str
    person_id: int = 0
    full_name: str = ""
    formal_name: str = ""
    user_type: str = "InternalAssociate"
    group_idx: int = 1
    rank: int = 1
    ej_user_id: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "AssociateId": self.associate_id,
            "Name": self.name,
            "PersonId": self.person_id,
            "Rank": self.rank,
            "Tooltip": self.full_name,
            "Type": self.user_type,
            "GroupIdx": self.group_idx,
            "FullName": self.full_name,
            "FormalName": self.formal_name,
            "Deleted": False,
            "EjUserId": self.ej_user_id,
            "UserName": self.name,
            "TableRight": None,
            "FieldProperties": None,
        }


@dataclass(frozen=True)
class User:
    """A user and every credential that authenticates as them."""

    username: str
    associate: Associate
    password: str | None = None
    tickets: tuple[str, ...] = ()
    bearer_tokens: tuple[str, ...] = ()
    xsrf_tokens: tuple[str, ...] = ()


@dataclass(frozen=True)
class Application:
    """An Online application: its SO-AppToken, and whether it was granted the Webhook agent."""

    name: str
    app_token: str
    webhook_agent: bool = True
    bearer_tokens: tuple[str, ...] = ()


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1_048_576
    journal_entries: int = 1000


@dataclass(frozen=True)
class DeliveryConfig:
    """How the mock delivers webhooks (docs/fidelity.md F-090 onwards).

    Targets must be HTTPS with a certificate the mock trusts (the system's CAs, or ``ca_file``)
    and resolve only to ``allowed_networks`` (loopback by default). Plain HTTP targets and
    skipping the registration ping are opt-ins, and the ready line says when they are on.
    """

    ca_file: str | None = None
    allow_http: bool = False
    registration_ping: bool = True
    allowed_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    timeout_seconds: float = 10.0
    max_response_bytes: int = 65536
    attempts: int = 3
    retry_waits: tuple[float, ...] = (1.0, 4.0)
    too_many_errors_after: int = 9
    user_agent: str = "NetServer-Webhook/10.5.0.0"
    workers: int = 2
    log_entries: int = 1000
    # A SQL store's outbox: how long a delivery worker waits at most before it looks for rows that
    # other processes added (mockserver.outbox).
    poll_seconds: float = 0.1

    def __post_init__(self) -> None:
        if self.attempts < 1 or len(self.retry_waits) < self.attempts - 1:
            raise ConfigError("delivery.retry_waits needs one wait per attempt after the first")
        if self.too_many_errors_after < 1:
            raise ConfigError("delivery.too_many_errors_after must be at least 1")
        if self.poll_seconds <= 0:
            raise ConfigError("delivery.poll_seconds must be positive")
        if self.timeout_seconds <= 0 or self.workers < 1:
            raise ConfigError("delivery.timeout_seconds and delivery.workers must be positive")
        import ipaddress

        for network in self.allowed_networks:
            try:
                ipaddress.ip_network(network)
            except ValueError:
                raise ConfigError(f"delivery.allowed_networks: {network!r} is not a network") from None


DEFAULT_USERS = (
    User(
        username=DEFAULT_USER,
        password=DEFAULT_PASSWORD,
        associate=Associate(
            associate_id=5,
            name="TJE0",
            person_id=5,
            full_name="Tje Zero",
            formal_name="Zero, Tje",
            ej_user_id=0,
        ),
        tickets=("7T:dGplMA==",),
        bearer_tokens=("8A:Cust12345.tje0",),
        xsrf_tokens=("xsrf-tje0",),
    ),
)
DEFAULT_APPLICATIONS = (
    Application(
        name="Default app",
        app_token="default-app-token",
        webhook_agent=True,
        bearer_tokens=("8A:Cust12345.tje0",),
    ),
)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class MockConfig:
    """Everything a mock app is made of. Build with keyword arguments or :meth:`from_file`."""

    profile: Profile = "onsite"
    users: tuple[User, ...] = DEFAULT_USERS
    applications: tuple[Application, ...] = DEFAULT_APPLICATIONS
    # Where state is kept: None (memory), a SQLite file's path, or a postgresql:// URL that replicas
    # share. A configuration file may name it "db".
    db_path: str | None = None
    limits: Limits = field(default_factory=Limits)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    # What SaveWebhook does with a WebhookId that does not exist (docs/fidelity.md F-070).
    unknown_webhook_id: Literal["create", "reject"] = "create"
    # A body member the contract does not know (a typo: "Nmae"): ignored, as the server ignores
    # it (the journal records a violation), or refused with 400 naming it (docs/fidelity.md F-015).
    unknown_properties: Literal["ignore", "reject"] = "ignore"
    # What happens when a response of the mock breaks the contract: raise (tests), report
    # (log and journal it, standalone) or off.
    response_validation: Literal["raise", "report", "off"] = "raise"
    # Who validates: the contract compiled into per-operation validators (fast), or openapi-core,
    # the reference implementation (about 3 ms a request). Both give the same verdicts.
    validator: Literal["fast", "openapi-core"] = "fast"
    # Online: the tenant the server answers for (ContextIdentifier of deliveries).
    context_identifier: str = "Cust12345"
    clock: Callable[[], datetime] = field(default=utc_now, compare=False)
    sleep: Callable[[float], None] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.profile not in ("onsite", "online"):
            raise ConfigError(f"profile must be 'onsite' or 'online', not {self.profile!r}")
        if self.unknown_webhook_id not in ("create", "reject"):
            raise ConfigError("unknown_webhook_id must be 'create' or 'reject'")
        if self.unknown_properties not in ("ignore", "reject"):
            raise ConfigError("unknown_properties must be 'ignore' or 'reject'")
        if self.response_validation not in ("raise", "report", "off"):
            raise ConfigError("response_validation must be 'raise', 'report' or 'off'")
        if self.validator not in ("fast", "openapi-core"):
            raise ConfigError("validator must be 'fast' or 'openapi-core'")
        if self.limits.max_body_bytes < 1024:
            raise ConfigError("limits.max_body_bytes must be at least 1024")
        if self.limits.journal_entries < 1:
            raise ConfigError("limits.journal_entries must be at least 1")
        if self.db_path is not None:
            _check_db(self.db_path)
        names = [u.username.lower() for u in self.users]
        if len(names) != len(set(names)):
            raise ConfigError("users: user names must be unique")

    def evolve(self, **changes: Any) -> MockConfig:
        return replace(self, **changes)

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> MockConfig:
        """A configuration from parsed JSON/TOML; unknown keys are an error that names them."""
        if "db" in data:  # the file's name for db_path
            if "db_path" in data:
                raise ConfigError("give db or db_path, not both")
            data = {**{k: v for k, v in data.items() if k != "db"}, "db_path": data["db"]}
        known = {f.name for f in fields(cls)} - {"clock", "sleep"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown configuration keys: {', '.join(unknown)}")
        kwargs: dict[str, Any] = {
            k: v for k, v in data.items() if k not in ("users", "applications", "limits", "delivery")
        }
        try:
            if "users" in data:
                kwargs["users"] = tuple(_user(u) for u in data["users"])
            if "applications" in data:
                kwargs["applications"] = tuple(
                    Application(
                        name=a["name"],
                        app_token=a["app_token"],
                        webhook_agent=bool(a.get("webhook_agent", True)),
                        bearer_tokens=tuple(a.get("bearer_tokens", ())),
                    )
                    for a in data["applications"]
                )
            if "limits" in data:
                kwargs["limits"] = Limits(**data["limits"])
            if "delivery" in data:
                delivery = dict(data["delivery"])
                for key in ("allowed_networks", "retry_waits"):
                    if key in delivery:
                        delivery[key] = tuple(delivery[key])
                kwargs["delivery"] = DeliveryConfig(**delivery)
        except (KeyError, TypeError) as error:
            raise ConfigError(f"invalid configuration: {error}") from None
        return cls(**kwargs)

    def to_mapping(self) -> dict[str, Any]:
        """The fields as JSON values, as :meth:`from_mapping` reads them (``clock`` and ``sleep``,
        functions, are left out)."""
        values = asdict(self)
        return {f.name: _jsonable(values[f.name]) for f in fields(self) if f.name not in ("clock", "sleep")}

    @classmethod
    def from_environment(cls) -> MockConfig:
        """The configuration in ``$SOWEBHOOK_MOCK_CONFIG`` (JSON); the defaults when it is unset."""
        return cls.from_mapping(json.loads(os.environ.get(ENVIRONMENT_VARIABLE) or "{}"))

    @classmethod
    def from_file(cls, path: str | Path) -> MockConfig:
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            try:
                tomllib = importlib.import_module("tomllib")  # the standard library's since 3.11
            except ModuleNotFoundError:  # pragma: no cover - Python 3.10
                raise ConfigError("TOML configuration needs Python 3.11; use JSON") from None
            data = tomllib.loads(text)
        else:
            data = json.loads(text)
        if not isinstance(data, dict):
            raise ConfigError("the configuration file must hold an object")
        return cls.from_mapping(data)


def _check_db(db: str) -> None:
    if "://" in db:
        scheme = db.split("://", 1)[0]
        if scheme not in ("postgresql", "postgres"):
            raise ConfigError(
                f"db: {scheme}:// is not a store; give a SQLite file's path or a postgresql:// URL"
            )
    elif Path(db).is_dir():
        raise ConfigError(f"db: {db} is a directory; give a SQLite file's path or a postgresql:// URL")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _user(data: dict[str, Any]) -> User:
    associate = data.get("associate", {})
    return User(
        username=data["username"],
        password=data.get("password"),
        tickets=tuple(data.get("tickets", ())),
        bearer_tokens=tuple(data.get("bearer_tokens", ())),
        xsrf_tokens=tuple(data.get("xsrf_tokens", ())),
        associate=Associate(
            associate_id=int(associate.get("associate_id", 1)),
            name=associate.get("name", data["username"].upper()),
            person_id=int(associate.get("person_id", 0)),
            full_name=associate.get("full_name", data["username"]),
            formal_name=associate.get("formal_name", data["username"]),
            user_type=associate.get("user_type", "InternalAssociate"),
            group_idx=int(associate.get("group_idx", 1)),
            rank=int(associate.get("rank", 1)),
            ej_user_id=int(associate.get("ej_user_id", 0)),
        ),
    )
