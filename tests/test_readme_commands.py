"""The README's command lines work as written on a fresh clone (a fresh, empty database)."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support import create_database, drop_database, free_port

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SERVER_START_S = 90
COMMAND_S = 120
STOP_S = 60


def _sh_blocks() -> list[list[str]]:
    text = README.read_text()
    return [block.strip().splitlines() for block in re.findall(r"```sh\n(.*?)```", text, re.S)]


def _blocks_with_commands() -> list[list[str]]:
    return [block for block in _sh_blocks() if any("main.py" in line for line in block)]


def _clean_env(database_url: str) -> dict[str, str]:
    """The environment of a fresh shell: no settings of the test run leak in."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    # Speed only: the cost of the password hash does not change what the commands do.
    env.update({"BCRYPT_ROUNDS": "4", "PORT": str(free_port()), "LOG_LEVEL": "warning"})
    env["DATABASE_URL"] = database_url
    return env


def _exported(line: str, env: dict[str, str]) -> dict[str, str]:
    script = f'{line}\nexec python3 -c "import json, os; print(json.dumps(dict(os.environ)))"'
    result = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    exported = json.loads(result.stdout)
    exported["DATABASE_URL"] = env["DATABASE_URL"]
    return exported


def _asks_for_password(line: str) -> bool:
    return "create-admin" in line and "--password" not in line and "ADMIN_PASSWORD" not in line


def _run_at_a_terminal(line: str, env: dict[str, str], answer: str) -> tuple[int, str]:
    """Run a line at a pseudo-terminal and type `answer` once it asks for the password."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        ["bash", "-c", line], cwd=ROOT, env=env, stdin=terminal, stdout=terminal, stderr=terminal
    )
    os.close(terminal)
    output = b""
    answered = False
    deadline = time.monotonic() + COMMAND_S
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.5)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
            if not answered and b"Password:" in output:
                os.write(controller, f"{answer}\n".encode())
                answered = True
        code = process.wait(timeout=COMMAND_S)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
    return code, output.decode(errors="replace")


def _serve_and_check_health(line: str, env: dict[str, str]) -> None:
    process = subprocess.Popen(
        ["bash", "-c", line],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{env['PORT']}/health"
    answer = None
    try:
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate(timeout=STOP_S)
            output += "\n(killed: did not stop on SIGTERM)"
    assert answer is not None, f"{line!r} did not answer /health:\n{output[-3000:]}"
    assert answer.status_code == 200, answer.text
    assert answer.json()["checks"]["migrations"] == "ok"


def _run_block(block: list[str], env: dict[str, str]) -> list[str]:
    ran = []
    for raw in block:
        line = raw.split("#", 1)[0].strip()
        if line.startswith("export "):
            env = _exported(line, env)
        if "main.py" not in line:
            continue
        ran.append(line)
        if line.rsplit(" ", 1)[-1] == "serve":
            _serve_and_check_health(line, env)
            continue
        if _asks_for_password(line):
            code, output = _run_at_a_terminal(line, env, "typed-at-the-prompt")
        else:
            result = subprocess.run(
                ["bash", "-c", line],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=COMMAND_S,
            )
            code, output = result.returncode, result.stdout + result.stderr
        assert code == 0, f"{line!r} exited {code}:\n{output}"
        assert "Traceback" not in output, output
    return ran


@pytest.mark.parametrize("block", _blocks_with_commands(), ids=lambda block: block[-1][:40])
async def test_readme_command_lines_work_as_written(block, tmp_path):
    """The PostgreSQL walk-through runs on an empty PostgreSQL database when the suite has one;
    the others on the SQLite default, as a fresh clone would."""
    if any("postgresql" in line for line in block):
        url = await create_database(str(tmp_path), revision=None)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path}/fresh.sqlite3"
    try:
        ran = _run_block(block, _clean_env(url))
    finally:
        if not url.startswith("sqlite"):
            await drop_database(url)
    assert ran


def test_the_readme_shows_the_main_commands():
    lines = " ".join(line for block in _blocks_with_commands() for line in block)
    for command in ("create-admin", "create-api-client", "deactivate-api-client", "migrate"):
        assert f"main.py {command}" in lines
    assert re.search(r"main\.py serve\b", lines)
