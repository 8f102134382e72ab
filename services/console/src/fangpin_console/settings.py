"""The console's settings: sessions, sign-in protection, password policy, signing keys."""

from __future__ import annotations

from pydantic import Field

from fangpin_common.settings import ServiceSettings


class ConsoleSettings(ServiceSettings):
    service_name: str = "console"
    port: int = 8005
    # The console verifies tokens with its own keys, never over HTTP.
    jwks_url: str | None = None

    # Where people reach the console (printed by `fangpin run`, used in links).
    public_url: str | None = None
    # Where a person lands after signing in (or changing the password) with no `next`.
    home_path: str = "/"

    # Web sessions: an HttpOnly cookie, SameSite=Lax; Secure behind HTTPS.
    session_cookie_name: str = "fangpin_session"
    session_cookie_secure: bool = False
    session_idle_minutes: int = 120
    session_max_hours: int = 12
    # A page's access token is minted again when less than this is left of it.
    access_token_refresh_seconds: int = 120
    # API sessions (password grant): a refresh token keeps them going this long.
    api_session_max_hours: int = 12
    # Client-credentials tokens live this long (machines ask again; no session to revoke).
    client_token_minutes: int = 15

    # Sign-in protection: after this many wrong passwords in a row the account is locked for
    # `lockout_minutes`; one address may try `sign_in_per_minute` times a minute.
    sign_in_max_failures: int = 5
    lockout_minutes: int = 15
    sign_in_per_minute: int = 20

    # Password policy (GB/T 22239-2019 asks for complexity and periodic change).
    password_min_length: int = 10
    password_min_classes: int = 3

    # Signing keys: a rotated-out key stays published this long, so every token it signed
    # (operators' `fangpin token` included, at most this long) expires before it disappears.
    signing_key_grace_hours: int = 24

    # The first administrator, made on the first `fangpin run` with a one-time password.
    first_admin_username: str = "admin"

    # The console owns no domain data: every page reads and writes through these services.
    monitoring_url: str = "http://127.0.0.1:8001"
    employment_url: str = "http://127.0.0.1:8002"
    industry_url: str = "http://127.0.0.1:8003"
    notifications_url: str = "http://127.0.0.1:8004"
    # A page waits this long for a service before showing "服务暂时不可用".
    api_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
