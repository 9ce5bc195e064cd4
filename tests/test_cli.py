"""Command line: settings errors, migrate, create-admin, API clients."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support import ROOT, run_cli


def test_bad_setting_stops_with_one_line_and_exit_2(tmp_path):
    result = run_cli(
        "migrate",
        env={
            "APP_ENV": "development",
            "PORT": "eighty",
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db",
        },
    )
    assert result.returncode == 2
    assert "PORT" in result.stderr
    result = run_cli("serve", env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"})
    assert result.returncode == 2
    assert "JWT_SECRET" in result.stderr and "Traceback" not in result.stderr
    result = run_cli("migrate", env={"APP_ENV": "development", "DATABASE_URL": "mysql://x"})
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr


def test_create_admin_creates_then_resets_and_api_client_names_are_unique(tmp_path):
    env = {
        "APP_ENV": "development",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cli.db",
        "BCRYPT_ROUNDS": "4",
    }
    assert run_cli("migrate", env=env).returncode == 0
    created = run_cli("create-admin", "--login", "boss", "--password", "pw-123", env=env)
    assert created.returncode == 0, created.stderr
    assert "boss" in created.stdout and "created" in created.stdout
    reset = run_cli("create-admin", "--login", "boss", env={**env, "ADMIN_PASSWORD": "pw-456"})
    assert reset.returncode == 0
    assert "reset" in reset.stdout
    client = run_cli("create-api-client", "--name", "onec", "--admin", env=env)
    assert client.returncode == 0
    assert "key:" in client.stdout
    twice = run_cli("create-api-client", "--name", "onec", env=env)
    assert twice.returncode == 1
    assert run_cli("deactivate-api-client", "--name", "onec", env=env).returncode == 0
    assert run_cli("deactivate-api-client", "--name", "nobody", env=env).returncode == 1


def test_env_example_lists_every_setting():
    import dataclasses

    from config import Settings

    listed = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert {field.name for field in dataclasses.fields(Settings)} <= listed


def test_commands_work_on_a_fresh_database(tmp_path):
    env = {
        "APP_ENV": "development",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/fresh.db",
        "BCRYPT_ROUNDS": "4",
    }
    created = run_cli("create-admin", "--login", "boss", "--password", "pw-123", env=env)
    assert created.returncode == 0, created.stderr
    assert "boss" in created.stdout and "created" in created.stdout


def test_an_unmigrated_database_gets_one_line(tmp_path):
    env = {
        "APP_ENV": "development",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/bare.db",
        "AUTO_MIGRATE": "false",
    }
    result = run_cli("create-api-client", "--name", "onec", env=env)
    assert result.returncode == 2
    assert "python main.py migrate" in result.stderr and "Traceback" not in result.stderr


def test_commands_without_the_server_need_no_server_secrets(tmp_path):
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/prod.db", "BCRYPT_ROUNDS": "4"}
    assert run_cli("migrate", env=env).returncode == 0
    created = run_cli("create-admin", "--login", "boss", "--password", "pw-123", env=env)
    assert created.returncode == 0, created.stderr
    assert "JWT_SECRET" not in created.stderr
    short = run_cli("migrate", env={**env, "JWT_SECRET": "short"})
    assert short.returncode == 2 and "JWT_SECRET" in short.stderr


def test_create_admin_without_a_password_or_a_terminal_is_one_line(tmp_path):
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/a.db", "BCRYPT_ROUNDS": "4"}
    result = subprocess.run(
        [sys.executable, "main.py", "create-admin", "--login", "boss"],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "APP_"))}, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--password" in result.stderr and "ADMIN_PASSWORD" in result.stderr


def test_serve_on_a_busy_port_is_one_line_and_exit_2(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(
            "serve",
            env={
                "APP_ENV": "development",
                "JWT_SECRET": "x" * 40,
                "PORT": str(port),
                "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/busy.db",
            },
        )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"127.0.0.1:{port}" in result.stderr and "in use" in result.stderr


async def test_serve_refuses_an_unmigrated_database_unless_auto_migrate(tmp_path):
    import asyncio

    from tests.support import create_database, drop_database, free_port

    url = await create_database(str(tmp_path), revision="0003")
    env = {
        "APP_ENV": "development",
        "JWT_SECRET": "x" * 40,
        "PORT": str(free_port()),
        "DATABASE_URL": url,
        "AUTO_MIGRATE": "false",
    }
    try:
        refused = await asyncio.to_thread(run_cli, "serve", env=env)
    finally:
        await drop_database(url)
    assert refused.returncode == 2
    assert "Traceback" not in refused.stderr
    assert "0004" in refused.stderr and "main.py migrate" in refused.stderr
