"""The durable-ack floor for bench/ack_wrk.py: check Slack's signature, store one row, ack.

What any app that acks only after storing must do at least: verify the request signature,
insert one row, commit it (concurrent requests share one commit: group commit, as Jerry's
intake does) and answer 200. Served by uvicorn like Jerry and the bare Bolt app, on the same
database (a table of its own, `floor_acks`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import uvicorn
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Column, Integer, MetaData, Table, Text, insert
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.db import create_engine

metadata = MetaData()
floor_acks = Table(
    "floor_acks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("body", Text, nullable=False),
)


def build() -> Starlette:
    engine = create_engine(os.environ["DATABASE_URL"])
    verifier = SignatureVerifier(os.environ["SLACK_SIGNING_SECRET"])
    queue: asyncio.Queue[tuple[str, asyncio.Future[None]]] = asyncio.Queue()

    async def writer() -> None:
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < 200:
                batch.append(queue.get_nowait())
            try:
                async with engine.begin() as conn:
                    await conn.execute(insert(floor_acks), [{"body": body} for body, _ in batch])
            except Exception as exc:
                for _, done in batch:
                    done.set_exception(exc)
            else:
                for _, done in batch:
                    done.set_result(None)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        task = asyncio.get_running_loop().create_task(writer())
        yield
        task.cancel()
        await engine.dispose()

    async def events(request: Request) -> Response:
        body = await request.body()
        if not verifier.is_valid_request(body, dict(request.headers)):
            return Response(status_code=401)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await queue.put((body.decode(), done))
        await done
        return Response(status_code=200)

    return Starlette(routes=[Route("/slack/events", events, methods=["POST"])], lifespan=lifespan)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(build(), host="127.0.0.1", port=args.port, log_level="warning")
