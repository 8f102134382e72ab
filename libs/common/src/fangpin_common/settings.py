"""Settings shared by every service; each service extends `ServiceSettings`.

Values come from `FANGPIN_*` environment variables or `.env`. Settings are passed into
`create_app(settings)`, never read at import time, so tests build apps with their own.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FANGPIN_", env_file=".env", extra="ignore")

    service_name: str = "service"
    host: str = "127.0.0.1"
    port: int = 8000

    # `{service}` is replaced by the service name: one SQLite file per service under ./var/.
    # On PostgreSQL every service works in its own schema (named after the service, unless
    # database_schema says otherwise), so one database URL serves all four.
    database_url: str = "sqlite+aiosqlite:///./var/{service}.db"
    database_schema: str | None = None
    database_echo: bool = False

    nats_url: str = "nats://127.0.0.1:14222"
    # Stream retention: long enough for departments that read once a day.
    stream_max_age_days: int = 30
    stream_duplicate_window_seconds: int = 600

    # Access tokens are signed by the console (EdDSA) and verified here with its public keys:
    # fetched from `jwks_url` and cached (refetched when a token names an unknown key), or given
    # in `jwks` (a JSON document, or the path of a file holding one). An external OIDC provider
    # replaces the console by its issuer and JWKS URL plus `unit_claim`, the claim that names
    # the person's unit (role and scope then follow from the county directory).
    jwt_issuer: str = "fangpin"
    jwt_audience: str | None = None
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["EdDSA"])
    jwt_leeway_seconds: int = 30
    jwks_url: str | None = "http://127.0.0.1:8005/.well-known/jwks.json"
    jwks: str | None = None
    jwks_cache_seconds: float = 300.0
    jwks_min_refetch_seconds: float = 10.0
    unit_claim: str | None = None
    # The console's access tokens live this long; a revoked session is refused at once by the
    # services that hear `session.revoked`, and by every service once its tokens expire.
    access_token_minutes: int = 15
    # Listen to the console's `session.revoked` events (off with an external OIDC provider).
    session_revocations: bool = True

    county_config: Path = Path("config/county.yaml")

    # Background work: a service started with these off only serves HTTP (tests drive the
    # relay and scanners by hand when they need deterministic steps).
    run_relay: bool = True
    run_consumers: bool = True
    run_scanners: bool = True
    relay_batch_size: int = 500
    relay_idle_seconds: float = 0.2
    relay_lease_seconds: float = 30.0
    scanner_interval_seconds: float = 60.0
    # How long a stopping service waits for its loops (sends in flight finish meanwhile).
    shutdown_grace_seconds: float = 30.0

    consumer_ack_wait_seconds: float = 30.0
    consumer_max_deliver: int = 5
    consumer_backoff_seconds: list[float] = Field(default_factory=lambda: [1.0, 5.0, 30.0, 120.0])
    consumer_batch_size: int = 64

    # A business-date offset for demonstrations ("pretend it is six days later").
    clock_offset_days: int = 0
    log_level: str = "INFO"

    auto_migrate: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # FANGPIN_<SERVICE>_PORT, FANGPIN_<SERVICE>_DATABASE_URL … override the shared value
        # for one service only.
        service = str(cls.model_fields["service_name"].default).upper()
        specific = EnvSettingsSource(settings_cls, env_prefix=f"FANGPIN_{service}_")
        return init_settings, specific, env_settings, dotenv_settings, file_secret_settings

    def resolved_database_url(self) -> str:
        return self.database_url.replace("{service}", self.service_name)

    @property
    def is_postgres(self) -> bool:
        return self.resolved_database_url().startswith("postgresql")

    @property
    def schema(self) -> str | None:
        """The PostgreSQL schema this service owns (None on SQLite)."""
        if not self.is_postgres:
            return None
        return self.database_schema or self.service_name

    @property
    def stream_name(self) -> str:
        return f"FANGPIN_{self.service_name.upper()}"

    @property
    def subject_prefix(self) -> str:
        return f"fangpin.{self.service_name}"
