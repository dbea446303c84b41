"""Settings from the environment or `.env` (pydantic-settings), mirrored by `.env.example`."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.domain.durations import parse_duration

DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class ConfigError(Exception):
    """Start-up cannot continue; the message is one line naming the setting and why."""


class Settings(BaseSettings):
    """Every setting the bot reads. Nothing else reads the environment."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False)

    slack_bot_token: str = Field(description="xoxb-… bot token")
    slack_signing_secret: str | None = Field(default=None, description="verifies requests from Slack (HTTP mode)")
    slack_app_token: str | None = Field(default=None, description="xapp-… token; when set, Socket Mode")
    slack_api_url: str = DEFAULT_SLACK_API_URL
    database_url: str = "sqlite:///escalations.db"
    policy_file: str = "policy.yaml"
    host: str = "0.0.0.0"
    port: int = Field(default=3000, ge=0, le=65535)
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str | None = None
    smtp_starttls: bool = True
    timezone: str = "UTC"
    scheduler_interval: timedelta = timedelta(seconds=10)
    notice_burst_limit: int = Field(default=5, ge=0, description="notices per recipient per window; 0 = no storm control")
    notice_burst_window: timedelta = timedelta(minutes=1)
    slash_command: str = "/escalate"
    log_level: str = "INFO"
    log_format: str = Field(default="text", description="text (readable lines) or json (one object a line)")

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: str) -> str:
        if not value:
            raise ValueError("is empty: paste the xoxb-… Bot User OAuth Token from your Slack app")
        if not value.startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp- (or leave it unset for HTTP mode)")
        return value

    @field_validator("slack_signing_secret", "smtp_host", "smtp_username", "smtp_password", "smtp_from")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value.startswith("postgres://"):
            value = "postgresql://" + value.removeprefix("postgres://")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        if not value.startswith(("sqlite://", "postgresql+psycopg://")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Berlin") from None
        return value

    @field_validator("scheduler_interval", "notice_burst_window", mode="before")
    @classmethod
    def _interval(cls, value: object) -> object:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator("notice_burst_window")
    @classmethod
    def _burst_window(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=10) <= value <= timedelta(hours=1):
            raise ValueError("must be between 10s and 1h, such as 1m")
        return value

    @field_validator("slash_command")
    @classmethod
    def _command(cls, value: str) -> str:
        if not value.startswith("/") or " " in value or len(value) < 2:
            raise ValueError("must look like /escalate")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return upper

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        lower = value.lower()
        if lower not in {"text", "json"}:
            raise ValueError("must be text or json")
        return lower

    @model_validator(mode="after")
    def _http_mode_needs_secret(self) -> "Settings":
        if not self.socket_mode and not self.slack_signing_secret:
            raise ValueError("SLACK_SIGNING_SECRET is required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)")
        return self

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def email_enabled(self) -> bool:
        return self.smtp_host is not None


class OfflineSettings(Settings):
    """The same settings for `python -m bot …`, which reads the database and the policy and never calls
    Slack: its token and signing secret may be absent (and are not checked)."""

    slack_bot_token: str | None = Field(default=None, description="not needed offline")  # type: ignore[assignment]

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _http_mode_needs_secret(self) -> "OfflineSettings":
        return self


def load_settings(*, slack: bool = True, **overrides: object) -> Settings:
    """Read settings, turning pydantic's report into one line that names the setting. `slack=False`:
    for the command line, which needs no Slack token (see OfflineSettings)."""
    try:
        return (Settings if slack else OfflineSettings)(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(describe_settings_error(exc)) from None


def describe_settings_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    name = "_".join(str(part) for part in first["loc"]).upper()
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing" and name == "SLACK_BOT_TOKEN":
        return (f"Configuration error: {name} is required (set it in .env or the environment; see .env.example)."
                " To try the bot without Slack, run `make sandbox`")
    if first["type"] == "missing":
        return f"Configuration error: {name} is required (set it in .env or the environment; see .env.example)"
    if not name:
        return f"Configuration error: {message}"
    return f"Configuration error: {name} {message}"
