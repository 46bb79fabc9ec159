"""Configuration: one settings class, every value from a COMPLAINTS_* environment variable.

Every default here is documented in README.md (Configuration).
"""

import ipaddress
import re
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.contracts import ContractBook, load_contracts, single_contract
from engine.uploads import DEFAULT_MAX_SIZE, KNOWN_TYPES, UploadRules, parse_types
from security.customer_links import CustomerLinks, link_key
from security.keys import KEY_SETTINGS, KeyMaterial, load_key_material
from store.event_store import EventStore

# A host name, an IPv4 address, or an IPv6 address without its brackets.
_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?|[0-9a-f:]+")

DEFAULT_POLICY = Path(__file__).resolve().parent.parent / "domain" / "default_policy.toml"
DEFAULT_PARTIES = Path(__file__).resolve().parent.parent / "domain" / "default_parties.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COMPLAINTS_")

    temporal_address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "complaints"
    data_dir: Path = Path("data")
    database_url: str = ""  # empty: a SQLite file in data_dir
    # The contracts file (README, Contracts); None: one contract, "default", of these two files.
    contracts: Path | None = None
    policy: Path = DEFAULT_POLICY
    parties: Path = DEFAULT_PARTIES
    base_url: str = "http://127.0.0.1:8000"  # links in messages point here
    smtp_host: str = ""  # empty: no e-mail channel
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = "complaints@example.com"
    webhook_secret: SecretStr = SecretStr("")  # empty: no webhook channel
    # Inbound e-mail (README, Inbound e-mail): where the operator's mail server forwards to.
    mail_in_host: str = "127.0.0.1"
    mail_in_port: int = Field(default=2525, ge=0, le=65535)  # 0: `complaints run` starts none
    mail_in_protocol: Literal["smtp", "lmtp"] = "smtp"
    mail_in_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)  # larger: 552, not taken
    delivery_retry_base: float = 30.0  # seconds before the first retry; doubles each time
    delivery_retry_cap: float = 3600.0
    delivery_max_attempts: int = 12  # then a temporary failure counts as permanent
    # A contract's report missed while Temporal was down runs when it is back, if it was due
    # at most this long ago (README, Scheduled reports).
    report_catchup_hours: float = Field(default=72, gt=0)
    # Open complaints a worker keeps in memory (Temporal's workflow cache): one evicted is
    # replayed from its history before its next decision, so size it to the open complaints.
    worker_cached_complaints: int = Field(default=5000, ge=1)
    # How long a decision due for a complaint in this worker's memory waits for this worker
    # before any worker may take it, replaying the complaint's whole history first. Temporal's
    # 10 s default made the 2,000-deadline herd replay each complaint once or more (bench/herd.py:
    # 133 timed-out tasks in 100 complaints, 37 breaches/s; 60 s: none, 60/s). The price: when a
    # worker is killed, decisions already waiting for it are up to this much later.
    worker_sticky_seconds: float = Field(default=60, gt=0)
    # Allocations between two young garbage collections in a worker (Python's default: 700).
    # Fewer young collections move fewer short-lived objects into the long-lived heap, whose
    # growth is what sets off a whole-heap collection (about 0.9 s with 5,000 complaints in
    # memory, during which nothing is decided). bench/sustained.py at 12.5/s: 27 whole-heap
    # collections (22 s) and breaches' p99 24 s at 700; 1 (1.2 s) and p99 7.7 s at 20,000.
    worker_gc_young_threshold: int = Field(default=20_000, ge=100)
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"
    api_keys: Path | None = None  # the API key file; None: api_keys.toml in data_dir
    # Encryption (README, Operations). Each key setting left empty comes from the key file.
    codec_keys: SecretStr = SecretStr("")  # id:base64 pairs: Temporal payload encryption
    codec_key_id: str = ""  # the one new payloads use; may be empty when there is one key
    master_keys: SecretStr = SecretStr("")  # id:base64 pairs: wrap the customers' data keys
    master_key_id: str = ""
    identity_key: SecretStr = SecretStr("")  # base64: keys the HMAC that identifies a customer
    encryption_key_file: Path | None = None  # empty: <data_dir>/encryption-keys.json
    # Lets unencrypted Temporal payloads through the codec: only to replay complaints whose
    # history was recorded before encryption (security.codec says why it is off).
    accept_plaintext_payloads: bool = False
    # Browser origins allowed to call /codec (the Temporal Web UI's), comma-separated.
    codec_cors_origins: str = ""
    # Mutual TLS to the Temporal frontend (README, Securing Temporal); empty: plain gRPC.
    temporal_tls_cert: Path | None = None  # the client's certificate (PEM)
    temporal_tls_key: Path | None = None  # its private key (PEM)
    temporal_tls_ca: Path | None = None  # the CA that signed the server's; empty: system roots
    temporal_tls_server_name: str = ""  # when the address is not the certificate's name
    # The customer's page (README, The customer's page). A link lives the policy's reopen window
    # (7 days) plus 30: long enough to reject a resolution sent near the end of its life.
    customer_link_days: int = Field(default=37, ge=1)
    public_post_limit: int = Field(default=30, ge=1)  # posts per client address per window
    public_post_window: int = Field(default=60, ge=1)  # seconds
    attachment_max_bytes: int = Field(default=DEFAULT_MAX_SIZE, ge=1)
    attachment_types: str = ",".join(KNOWN_TYPES)  # told by the content, never the name
    # Observability (README, Metrics and dashboard; Tracing); each empty: off.
    metrics_address: str = ""  # host:port of this process's /metrics
    sdk_metrics_address: str = ""  # host:port of the Temporal SDK's own Prometheus exporter
    otlp_endpoint: str = ""  # base URL of an OTLP/HTTP collector, e.g. http://127.0.0.1:4318

    @field_validator("metrics_address", "sdk_metrics_address")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        if value:
            split_address(value)  # ValueError naming the rule
        return value

    @field_validator("otlp_endpoint")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http:// or https:// URL; got {value!r}")
        return value.rstrip("/")

    # The web's perimeter (README, Hardening; api.web_security): host names the API answers to
    # besides localhost, 127.0.0.1 and base_url's host; proxies whose X-Forwarded-Proto/-For
    # count (addresses or networks, comma-separated); how long a browser's sign-in lasts.
    allowed_hosts: str = ""
    trusted_proxies: str = ""
    session_hours: float = Field(default=12, gt=0)

    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'complaints.sqlite3'}"

    def encryption_key_file_path(self) -> Path:
        return self.encryption_key_file or self.data_dir / "encryption-keys.json"

    def key_material(self) -> KeyMaterial:
        """The engine's keys; KeyConfigError (naming the setting) if missing or malformed."""
        values = {
            name: value.get_secret_value() if isinstance(value, SecretStr) else value
            for name, value in ((n, getattr(self, n)) for n in KEY_SETTINGS)
        }
        return load_key_material(values, self.encryption_key_file_path())

    def customer_links(self, store: EventStore) -> CustomerLinks:
        """Links to the customer's page, bound to the complaint's customer as `store` knows it."""
        return CustomerLinks(
            key=link_key(self.key_material().identity),
            base_url=self.base_url,
            lifetime=timedelta(days=self.customer_link_days),
            customer_of=store.customer_key,
        )

    def upload_rules(self) -> UploadRules:
        return UploadRules(
            max_size=self.attachment_max_bytes,
            allowed=parse_types(self.attachment_types, "COMPLAINTS_ATTACHMENT_TYPES"),
        )

    def codec_origins(self) -> list[str]:
        """COMPLAINTS_CODEC_CORS_ORIGINS: origins separated by commas or spaces; ValueError
        naming the setting for one that is not scheme://host[:port]."""
        origins = self.codec_cors_origins.replace(",", " ").split()
        for origin in origins:
            scheme, sep, rest = origin.partition("://")
            if scheme not in ("http", "https") or not sep or not rest or "/" in rest:
                raise ValueError(
                    f"COMPLAINTS_CODEC_CORS_ORIGINS: {origin!r} is not an origin "
                    "(scheme://host[:port], no path)"
                )
        return origins

    def allowed_host_names(self) -> list[str]:
        names = [n.strip().lower() for n in self.allowed_hosts.split(",") if n.strip()]
        bad = [n for n in names if not _HOST_NAME.fullmatch(n)]
        if bad:
            raise ValueError(
                f"COMPLAINTS_ALLOWED_HOSTS: {bad[0]!r} is not a host name (no scheme, port or "
                "path: complaints.example.com)"
            )
        return names

    def trusted_proxy_addresses(self) -> list[str]:
        entries = [e.strip() for e in self.trusted_proxies.split(",") if e.strip()]
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"COMPLAINTS_TRUSTED_PROXIES: {entry!r} is not an IP address or network "
                    "(10.0.0.5, 10.0.0.0/8)"
                ) from None
        return entries

    def api_keys_file(self) -> Path:
        return self.api_keys or self.data_dir / "api_keys.toml"

    def load_contracts(self) -> ContractBook:
        """The contracts served; ContractError (naming the contract, key and rule) if any is
        malformed: start-up stops on it."""
        if self.contracts is not None:
            return load_contracts(self.contracts)
        return single_contract(self.policy, self.parties)


def split_address(address: str) -> tuple[str, int]:
    """'host:port' -> (host, port); ValueError naming the rule otherwise."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"must be host:port, e.g. 127.0.0.1:9100; got {address!r}")
    return host.strip("[]"), int(port)
