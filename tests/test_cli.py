"""Command line: settings errors, migrate, create-admin, API clients."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "APP_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


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
    result = run_cli("migrate", env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"})
    assert result.returncode == 2
    assert "JWT_SECRET" in result.stderr
    result = run_cli("migrate", env={"APP_ENV": "development", "DATABASE_URL": "mysql://x"})
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr


def test_migrate_create_admin_and_api_clients(tmp_path):
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
