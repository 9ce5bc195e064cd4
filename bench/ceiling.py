"""The ceiling of the stack: a bare Sanic app, hello world on `/` and `select 1` over asyncpg.

python -m bench.ceiling     # PORT, DATABASE_URL (a PostgreSQL URL), WORKERS, DB_POOL_SIZE

Started like the product (`main.py serve`: one process for one worker), so a product figure
divided by this app's figure from the same run is what the product's own code costs.
"""

from __future__ import annotations

import os

import asyncpg
from sanic import Request, Sanic
from sanic.response import json
from sanic.worker.loader import AppLoader


def create_app() -> Sanic:
    app = Sanic("ceiling")
    app.config.ACCESS_LOG = False

    @app.get("/")
    async def hello(request: Request):
        return json({"hello": "world"})

    @app.get("/select1")
    async def select_one(request: Request):
        return json({"value": await request.app.ctx.pool.fetchval("select 1")})

    @app.before_server_start
    async def open_pool(app: Sanic) -> None:
        # The product's pool: DB_POOL_SIZE connections plus as many again on demand.
        size = int(os.environ.get("DB_POOL_SIZE", "10"))
        dsn = os.environ["DATABASE_URL"].replace("+asyncpg", "")
        app.ctx.pool = await asyncpg.create_pool(dsn, min_size=size, max_size=size * 2)

    @app.after_server_stop
    async def close_pool(app: Sanic) -> None:
        await app.ctx.pool.close()

    return app


def main() -> None:
    workers = int(os.environ.get("WORKERS", "1"))
    loader = AppLoader(factory=create_app)
    app = loader.load()
    app.prepare(
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        workers=workers,
        single_process=workers == 1,
        motd=False,
    )
    if workers == 1:
        Sanic.serve_single(primary=app)
    else:
        Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()
