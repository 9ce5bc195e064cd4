"""Service settings: read once from the environment (and an optional .env), checked at start."""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from helpers.fiscal import FFD_VERSIONS, TAX_TYPES

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/shop.sqlite3"
MIB = 1024 * 1024


class SettingsError(Exception):
    """A setting is missing or has a bad value; the message names it."""


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _int(raw: str) -> int:
    return int(raw.strip())


def _non_negative_int(raw: str) -> int:
    value = int(raw.strip())
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _positive_int(raw: str) -> int:
    value = int(raw.strip())
    if value < 1:
        raise ValueError("must be 1 or more")
    return value


def _non_negative_float(raw: str) -> float:
    value = float(raw.strip())
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw.strip())
    if not value > 0 or value == float("inf"):
        raise ValueError("must be a number above 0")
    return value


def _int_list(raw: str) -> tuple[int, ...]:
    return tuple(int(part) for part in raw.replace(" ", "").split(",") if part)


def _str_list(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _rate(raw: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", raw)
    if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
        raise ValueError("expected N/SECONDS, e.g. 10/900")
    return int(match.group(1)), int(match.group(2))


def _redis_url(raw: str) -> str:
    value = raw.strip()
    if value and not value.startswith(("redis://", "rediss://")):
        raise ValueError("expected redis://host:port/db or rediss://")
    return value


def _timezone(raw: str) -> str:
    try:
        ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("unknown time zone") from exc
    return raw.strip()


def _date(raw: str) -> date | None:
    value = raw.strip()
    return date.fromisoformat(value) if value else None


def _one_of(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError("expected one of " + ", ".join(choices))
        return value

    return parse


def _tax_type(raw: str) -> int:
    value = int(raw.strip())
    if value not in TAX_TYPES:
        raise ValueError(
            "expected one of the gateway's VAT types " + ", ".join(map(str, TAX_TYPES))
        )
    return value


def _ffd_version(raw: str) -> str:
    value = raw.strip()
    if value not in FFD_VERSIONS:
        raise ValueError("expected one of " + ", ".join(FFD_VERSIONS))
    return value


def _database_url(raw: str) -> str:
    value = raw.strip()
    if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ValueError("expected sqlite+aiosqlite:// or postgresql+asyncpg://")
    return value


def _url(raw: str) -> str:
    value = raw.strip()
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError("expected an http(s) URL")
    return value


def _reset_url(raw: str) -> str:
    value = _url(raw)
    if "{token}" not in value:
        raise ValueError("must contain {token}")
    return value


def setting(default: Any, parse: Callable[[str], Any] | None = None, *fallbacks: str) -> Any:
    return field(default=default, metadata={"parse": parse, "fallbacks": fallbacks})


@dataclass(frozen=True)
class Settings:
    APP_ENV: str = setting("production", _one_of("production", "development"))
    DATABASE_URL: str = setting(DEFAULT_DATABASE_URL, _database_url)
    DB_POOL_SIZE: int = setting(20, _positive_int)
    HOST: str = setting("127.0.0.1", None, "host")
    PORT: int = setting(8000, _positive_int, "port")
    WORKERS: int = setting(1, _positive_int, "workers")
    AUTO_MIGRATE: bool | None = setting(None, _bool)
    DISPATCHER_IN_SERVER: bool = setting(True, _bool)
    GRACEFUL_SHUTDOWN_S: float = setting(15.0, _non_negative_float)
    LOG_LEVEL: str = setting("INFO", _one_of("debug", "info", "warning", "error"))
    PROXIES_COUNT: int = setting(0, _non_negative_int)
    REAL_IP_HEADER: str = setting("")
    SERVICE_NAME: str = setting("vinterr-backend")
    REQUEST_TIMEOUT_S: float = setting(30.0, _positive_float)
    RESPONSE_TIMEOUT_S: float = setting(30.0, _positive_float)
    KEEP_ALIVE_TIMEOUT_S: float = setting(5.0, _positive_float)
    UPLOAD_TIMEOUT_S: float = setting(900.0, _positive_float)

    JWT_SECRET: str = setting("")
    JWT_ADMIN_TTL_MIN: int = setting(1440, _positive_int)
    JWT_CUSTOMER_TTL_MIN: int = setting(1440, _positive_int)
    API_TOKEN_TTL_MIN: int = setting(60, _positive_int)
    BCRYPT_ROUNDS: int = setting(12, _positive_int)

    TELEGRAM_BOT_SECRET: str = setting("", None, "telegram_secret_password")
    TELEGRAM_TOKEN: str = setting("", None, "telegram_token")
    TELEGRAM_API_BASE: str = setting("https://api.telegram.org", _url)
    TELEGRAM_ORDERS_CHAT_ID: str = setting("", None, "telegram_chat_id")
    TELEGRAM_ERRORS_CHAT_ID: str = setting("", None, "telegram_errors_chat_id")
    TELEGRAM_NOTIFY_STOCK_UPDATES: bool = setting(False, _bool)
    TELEGRAM_TIMEOUT_S: float = setting(15.0, _positive_float)

    SMTP_HOST: str = setting("smtp.yandex.ru", None, "email_server")
    SMTP_PORT: int = setting(587, _positive_int, "email_port")
    SMTP_USERNAME: str = setting("", None, "email_from")
    SMTP_PASSWORD: str = setting("", None, "email_passwd")
    SMTP_SECURITY: str = setting("starttls", _one_of("starttls", "tls", "none"))
    SMTP_TIMEOUT_S: float = setting(15.0, _non_negative_float)
    EMAIL_FROM: str = setting("", None, "email_from")
    EMAIL_SHOP_TO: str = setting("", None, "email_to")

    SBER_BASE_URL: str = setting("https://securepayments.sberbank.ru/payment/rest/", _url)
    SBER_USERNAME: str = setting("", None, "sber_username")
    SBER_PASSWORD: str = setting("", None, "sber_password")
    SBER_TOKEN: str = setting("")
    SBER_CALLBACK_SECRET: str = setting("")
    SBER_SESSION_TIMEOUT_S: int = setting(1200, _positive_int)
    SBER_SEND_ORDER_BUNDLE: bool = setting(True, _bool)
    SBER_TAX_TYPE: int = setting(0, _tax_type)
    SBER_FFD_VERSION: str = setting("1.2", _ffd_version)
    SBER_TIMEOUT_S: float = setting(15.0, _non_negative_float)
    PAYMENT_ALLOWED_RETURN_HOSTS: tuple[str, ...] = setting((), _str_list)

    ORDER_INITIAL_STATUS_ID: int = setting(1, _positive_int)
    ORDER_CANCELLED_STATUS_IDS: tuple[int, ...] = setting((), _int_list)
    ORDER_HANDED_TO_1C_STATUS_IDS: tuple[int, ...] = setting((), _int_list)
    ORDER_STATUS_EMAIL_IDS: tuple[int, ...] = setting((), _int_list)
    UNPAID_ORDER_TTL_MIN: int = setting(0, _non_negative_int)
    DELIVERY_COST_MAX: int = setting(10000, _non_negative_int)
    PASSWORD_RESET_URL: str = setting(
        "https://vinterr-plus.ru/password_reset?token={token}", _reset_url
    )
    PASSWORD_RESET_TTL_MIN: int = setting(60, _positive_int)

    PUBLIC_BASE_URL: str = setting("http://localhost:8000", _url)
    MEDIA_ROOT: str = setting("./media")
    IMAGE_MAX_BYTES: int = setting(10 * MIB, _positive_int)
    UPLOAD_MAX_BYTES: int = setting(10 * MIB, _positive_int)
    IMAGE_WEBP_QUALITY: int = setting(80, _positive_int)
    SHOP_TIMEZONE: str = setting("Asia/Yekaterinburg", _timezone)

    CORS_ORIGINS: tuple[str, ...] = setting((), _str_list)
    ENABLE_API_DOCS: bool = setting(True, _bool)
    METRICS_TOKEN: str = setting("")

    RATE_LIMITS_ENABLED: bool = setting(True, _bool)
    RATE_LIMIT_LOGIN: tuple[int, int] = setting((10, 900), _rate)
    RATE_LIMIT_SIGNUP: tuple[int, int] = setting((10, 600), _rate)
    RATE_LIMIT_ORDERS: tuple[int, int] = setting((30, 600), _rate)
    REDIS_URL: str = setting("", _redis_url)
    REDIS_KEY_PREFIX: str = setting("vinterr:limits")
    REDIS_TIMEOUT_S: float = setting(0.5, _positive_float)
    METRICS_DIR: str = setting("", None, "PROMETHEUS_MULTIPROC_DIR")

    BROKER_URL: str = setting("")
    EVENTS_EXCHANGE: str = setting("shop.events")
    OUTBOX_RETENTION_DAYS: int = setting(30, _positive_int)

    LEGACY_DB_URL: str = setting("")
    LEGACY_DB_TIMEOUT: float = setting(30.0, _non_negative_float)
    LEGACY_DB_RETRIES_COUNT: int = setting(2, _non_negative_int)
    LEGACY_DB_RETRIES_SLEEP: float = setting(30.0, _non_negative_float)
    LEGACY_CUSTOMERS_TABLE: str = setting("ZkzClients")
    LEGACY_COLUMN_ID: str = setting("ID")
    LEGACY_COLUMN_PHONE: str = setting("phone_main")
    LEGACY_COLUMN_NAME: str = setting("FirstFIO")
    LEGACY_COLUMN_EMAIL: str = setting("email")
    LEGACY_COLUMN_CREATED_AT: str = setting("created_at")
    LEGACY_IMPORT_BATCH_SIZE: int = setting(1000, _positive_int)

    ONEC_LOGIN: str = setting("")
    ONEC_PASSWORD: str = setting("")
    ONEC_FILE_LIMIT: int = setting(10 * MIB, _positive_int)
    ONEC_PRICE_TYPE_ID: str = setting("")
    ONEC_SALE_PRICE_TYPE_ID: str = setting("")
    ONEC_DEFAULT_STRUCTURE_ID: int | None = setting(None, _positive_int)
    # 0: a file may not grow beyond ONEC_FILE_LIMIT even when 1C sends it in pieces.
    ONEC_FILE_TOTAL_LIMIT: int = setting(0, _non_negative_int)
    ONEC_EXCHANGE_DIR: str = setting("./var/1c_exchange")
    ONEC_IMPORT_LEASE_S: float = setting(60.0, _positive_float)
    ONEC_RETENTION_DAYS: int = setting(30, _positive_int)
    # Orders placed before the shop switched to the exchange already reached 1C by hand.
    ONEC_ORDERS_SINCE: date | None = setting(None, _date)

    @property
    def is_development(self) -> bool:
        return self.APP_ENV == "development"

    @property
    def is_sqlite(self) -> bool:
        return self.DATABASE_URL.startswith("sqlite")

    @property
    def auto_migrate(self) -> bool:
        return self.is_sqlite if self.AUTO_MIGRATE is None else self.AUTO_MIGRATE

    @property
    def onec_enabled(self) -> bool:
        return bool(self.ONEC_LOGIN and self.ONEC_PASSWORD)

    @property
    def onec_file_total_limit(self) -> int:
        return max(self.ONEC_FILE_TOTAL_LIMIT, self.ONEC_FILE_LIMIT)

    @property
    def image_body_limit(self) -> int:
        """An image upload's whole body: room for the image and its multipart framing."""
        return max(self.IMAGE_MAX_BYTES, self.UPLOAD_MAX_BYTES)

    @property
    def allowed_return_hosts(self) -> tuple[str, ...]:
        if self.PAYMENT_ALLOWED_RETURN_HOSTS:
            return self.PAYMENT_ALLOWED_RETURN_HOSTS
        return ("localhost", "127.0.0.1") if self.is_development else ()

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


SECRET_SETTINGS = frozenset(
    {
        "JWT_SECRET",
        "SMTP_PASSWORD",
        "SBER_PASSWORD",
        "SBER_TOKEN",
        "SBER_CALLBACK_SECRET",
        "TELEGRAM_TOKEN",
        "TELEGRAM_BOT_SECRET",
        "METRICS_TOKEN",
        "ONEC_PASSWORD",
    }
)


def _raw_value(env: Mapping[str, str], name: str, fallbacks: tuple[str, ...]) -> str | None:
    for key in (name, *fallbacks):
        if key in env and env[key] != "":
            return env[key]
    return None


def load_settings(
    env: Mapping[str, str] | None = None, serving: bool = True, **overrides: Any
) -> Settings:
    """Build settings from a mapping (default: os.environ plus .env); raise SettingsError.

    The secrets only the HTTP server uses are required when `serving`; other commands run
    without them.
    """
    if env is None:
        from dotenv import dotenv_values

        env = {**{k: v for k, v in dotenv_values(".env").items() if v is not None}, **os.environ}
    values: dict[str, Any] = {}
    for item in dataclasses.fields(Settings):
        raw = _raw_value(env, item.name, item.metadata["fallbacks"])
        if raw is None:
            continue
        parse = item.metadata["parse"]
        try:
            values[item.name] = parse(raw) if parse else raw.strip()
        except ValueError as exc:
            raise SettingsError(f"{item.name}: {exc}") from None
    values.update(overrides)
    settings = Settings(**values)
    return _checked(settings, serving)


def _checked(settings: Settings, serving: bool) -> Settings:
    if serving:
        settings = _checked_server_secrets(settings)
    elif settings.JWT_SECRET and len(settings.JWT_SECRET) < 32:
        raise SettingsError("JWT_SECRET: must be at least 32 characters")
    if not 1 <= settings.IMAGE_WEBP_QUALITY <= 100:
        raise SettingsError("IMAGE_WEBP_QUALITY: must be between 1 and 100")
    if not 4 <= settings.BCRYPT_ROUNDS <= 16:
        raise SettingsError("BCRYPT_ROUNDS: must be between 4 and 16")
    for name in ("REQUEST_TIMEOUT_S", "RESPONSE_TIMEOUT_S", "KEEP_ALIVE_TIMEOUT_S"):
        if getattr(settings, name) > settings.UPLOAD_TIMEOUT_S:
            raise SettingsError(f"{name}: must not exceed UPLOAD_TIMEOUT_S")
    if 0 < settings.UNPAID_ORDER_TTL_MIN * 60 <= settings.SBER_SESSION_TIMEOUT_S:
        raise SettingsError(
            "UNPAID_ORDER_TTL_MIN: must be longer than the payment session "
            f"(SBER_SESSION_TIMEOUT_S = {settings.SBER_SESSION_TIMEOUT_S} s)"
        )
    return settings


def _checked_server_secrets(settings: Settings) -> Settings:
    if not settings.JWT_SECRET:
        if not settings.is_development:
            raise SettingsError(
                "JWT_SECRET: required in production (or set APP_ENV=development for a random one)"
            )
        settings = settings.replace(JWT_SECRET=secrets.token_urlsafe(48))
        print(
            "warning: JWT_SECRET is not set; tokens use a random secret of this run",
            file=sys.stderr,
        )
        os.environ["JWT_SECRET"] = settings.JWT_SECRET
    elif len(settings.JWT_SECRET) < 32:
        raise SettingsError("JWT_SECRET: must be at least 32 characters")
    if not settings.is_development and not settings.allowed_return_hosts:
        raise SettingsError("PAYMENT_ALLOWED_RETURN_HOSTS: required in production")
    return settings
