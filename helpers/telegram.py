"""Telegram Bot API client (sendMessage) with the error kinds the dispatcher acts on."""

from __future__ import annotations

import html
import re

import httpx

_TAGS = re.compile(r"<[^>]+>")


class TelegramError(Exception):
    """Base of the Bot API failures."""


class TelegramRetryLater(TelegramError):
    def __init__(self, retry_after: float):
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


class TelegramBadMarkup(TelegramError):
    """400 can't parse entities: the text is resent once without markup."""


class TelegramRejected(TelegramError):
    """403, chat not found and other final refusals."""


def plain_text(text: str) -> str:
    return html.unescape(_TAGS.sub("", text))


class TelegramClient:
    def __init__(self, base_url: str, token: str, timeout: float = 15.0):
        self._url = f"{base_url.rstrip('/')}/bot{token}/sendMessage"
        self._http = httpx.AsyncClient(timeout=timeout)

    async def send_message(self, chat_id: str, text: str, parse_mode: str | None = "HTML"):
        payload = {"chat_id": chat_id, "text": text, "disable_web_page_preview": True}
        if parse_mode:
            payload["parse_mode"] = parse_mode
        response = await self._http.post(self._url, json=payload)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        # A proxy or a broken Bot API may answer 200 without having sent anything.
        if response.status_code == 200:
            if body.get("ok") is True:
                return
            raise TelegramError("200 without a Bot API answer")
        description = str(body.get("description", ""))
        if response.status_code == 429:
            retry_after = (body.get("parameters") or {}).get("retry_after", 30)
            raise TelegramRetryLater(float(retry_after))
        if response.status_code == 400 and "parse entities" in description.lower():
            raise TelegramBadMarkup(description)
        if response.status_code in (400, 401, 403, 404):
            raise TelegramRejected(f"{response.status_code} {description}")
        raise TelegramError(f"{response.status_code} {description}")

    async def close(self) -> None:
        await self._http.aclose()
