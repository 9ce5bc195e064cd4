"""1C exchange (CommerceML 2 protocol): sessions, the files 1C uploads and the exchange log."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import re
import secrets
import shutil
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import OnecExchange, OnecSession
from db.models.base import utcnow
from services.errors import RuleViolation, TooLarge

log = logging.getLogger("shop.onec")

COOKIE_NAME = "vinterr_1c"
SESSION_TTL = timedelta(hours=1)
MESSAGE_LIMIT = 1000
_FILE_NAME = re.compile(r"[A-Za-z0-9_./-]+")
BAD_FILE_NAME = "Invalid file name: a relative path of A-Z a-z 0-9 _ . / - without '..'"


def credentials_match(settings, login: str, password: str) -> bool:
    """Both values are compared in constant time, whichever of them is wrong."""
    login_ok = hmac.compare_digest(login.encode(), settings.ONEC_LOGIN.encode())
    password_ok = hmac.compare_digest(password.encode(), settings.ONEC_PASSWORD.encode())
    return login_ok & password_ok


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(session: AsyncSession, kind: str) -> str:
    """`checkauth`: a new session with a folder of its own; returns the cookie value."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    onec_session = OnecSession(
        token_hash=_digest(token),
        folder=f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(6)}",
        created_at=now,
        expires_at=now + SESSION_TTL,
    )
    session.add(onec_session)
    await session.flush()
    record(session, onec_session.id, kind, "checkauth")
    return token


async def find_session(session: AsyncSession, token: str) -> OnecSession | None:
    """The live session of a cookie value; None for an unknown or expired one."""
    if not token or len(token) > 100:
        return None
    return await session.scalar(
        select(OnecSession).where(
            OnecSession.token_hash == _digest(token), OnecSession.expires_at > utcnow()
        )
    )


def record(
    session: AsyncSession,
    session_id: int | None,
    kind: str,
    mode: str,
    *,
    filename: str | None = None,
    outcome: str = "success",
    message: str | None = None,
    counts: dict | None = None,
) -> OnecExchange:
    """A row of the exchange log, in the caller's transaction."""
    entry = OnecExchange(
        session_id=session_id,
        type=kind,
        mode=mode,
        filename=filename,
        outcome=outcome,
        message=message[:MESSAGE_LIMIT] if message else None,
        counts=counts,
        finished_at=None if outcome == "progress" else utcnow(),
    )
    session.add(entry)
    return entry


async def record_failure(
    db, session_id: int | None, kind: str, mode: str, filename: str | None, reason: str
) -> None:
    """A refused call, logged in a transaction of its own (the call's own was rolled back)."""
    try:
        async with db.begin() as session:
            record(
                session,
                session_id,
                kind,
                mode,
                filename=filename,
                outcome="failure",
                message=reason,
            )
    except Exception as exc:
        log.warning("1C exchange failure not logged (%s): %s", type(exc).__name__, reason)


def checked_file_name(name: str | None) -> str:
    """A relative name of safe characters only: no absolute path, no `..`, no empty part."""
    if not name:
        raise RuleViolation("File name is required")
    parts = name.split("/")
    if not _FILE_NAME.fullmatch(name) or ".." in name or any(p in ("", ".") for p in parts):
        raise RuleViolation(BAD_FILE_NAME)
    return name


def session_folder(settings, onec_session: OnecSession) -> Path:
    return Path(settings.ONEC_EXCHANGE_DIR).resolve() / onec_session.folder


def file_path(settings, onec_session: OnecSession, name: str | None) -> Path:
    folder = session_folder(settings, onec_session)
    path = (folder / checked_file_name(name)).resolve()
    # A link planted inside the folder must not lead out of it.
    if not path.is_relative_to(folder):
        raise RuleViolation(BAD_FILE_NAME)
    return path


def uploaded_file(settings, onec_session: OnecSession, name: str | None) -> Path:
    path = file_path(settings, onec_session, name)
    if not path.is_file():
        raise RuleViolation(f"File {name} was not uploaded in this session")
    return path


def _append(path: Path, data: bytes, limit: int) -> int:
    """Append a piece; a file that would outgrow `limit` is removed instead."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = path.stat().st_size if path.exists() else 0
    if size + len(data) > limit:
        path.unlink(missing_ok=True)
        raise TooLarge(f"File larger than {limit} bytes; the pieces received were removed")
    with path.open("ab") as output:
        output.write(data)
    return size + len(data)


async def store_chunk(
    session: AsyncSession, settings, onec_session: OnecSession, kind: str, name: str, data: bytes
) -> tuple[Path, OnecExchange]:
    """`file`: append the body to the session's file of that name (1C splits big files);
    returns the file and its log row."""
    path = file_path(settings, onec_session, name)
    size = await asyncio.to_thread(_append, path, data, settings.onec_file_total_limit)
    entry = await session.scalar(
        select(OnecExchange).where(
            OnecExchange.session_id == onec_session.id,
            OnecExchange.mode == "file",
            OnecExchange.filename == name,
        )
    )
    if entry is None:
        entry = record(session, onec_session.id, kind, "file", filename=name, counts={})
    chunks = (entry.counts or {}).get("chunks", 0) + 1
    entry.counts = {"bytes": size, "chunks": chunks}
    entry.finished_at = utcnow()
    await session.flush()
    return path, entry


async def list_exchanges(session: AsyncSession, filters: dict) -> tuple[list[OnecExchange], int]:
    """The log, newest first."""
    conditions = []
    if "type" in filters:
        conditions.append(OnecExchange.type == filters["type"])
    if "outcome" in filters:
        conditions.append(OnecExchange.outcome == filters["outcome"])
    rows = await session.scalars(
        select(OnecExchange)
        .where(*conditions)
        .order_by(OnecExchange.id.desc())
        .limit(filters["limit"])
        .offset(filters["offset"])
    )
    total = await session.scalar(select(func.count()).select_from(OnecExchange).where(*conditions))
    return list(rows), total or 0


async def purge_old_exchanges(session: AsyncSession, settings) -> int:
    """Log rows and sessions older than ONEC_RETENTION_DAYS; returns the log rows removed."""
    cutoff = utcnow() - timedelta(days=settings.ONEC_RETENTION_DAYS)
    removed = await session.execute(
        delete(OnecExchange).where(
            OnecExchange.started_at < cutoff, OnecExchange.outcome != "progress"
        )
    )
    await session.execute(delete(OnecSession).where(OnecSession.expires_at < cutoff))
    return removed.rowcount


async def remove_old_files(settings) -> int:
    """The raw files of sessions older than ONEC_RETENTION_DAYS, kept until then for audit."""
    cutoff = utcnow() - timedelta(days=settings.ONEC_RETENTION_DAYS)
    folders = await asyncio.to_thread(
        remove_old_folders, Path(settings.ONEC_EXCHANGE_DIR), cutoff.timestamp()
    )
    if folders:
        log.info("removed %d 1C exchange folders older than %s", folders, cutoff.date())
    return folders


def remove_old_folders(root: Path, cutoff: float) -> int:
    """Session folders whose newest file was written before `cutoff` (a Unix time)."""
    if not root.is_dir():
        return 0
    removed = 0
    for folder in root.iterdir():
        if folder.is_dir() and not folder.is_symlink() and _newest_write(folder) < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def _newest_write(folder: Path) -> float:
    newest = folder.stat().st_mtime
    for parent, _dirs, files in os.walk(folder):
        for name in files:
            newest = max(newest, (Path(parent) / name).stat().st_mtime)
    return newest
