"""A tiny Discord on 127.0.0.1 for the start-up tests: discord.py's real HTTP and gateway code talks to it.

It knows one token ("good-token"): `/users/@me` and the application info answer for it, anything else
is 401 as Discord says it. `/gateway/bot` points at its websocket, which says HELLO and waits for the
IDENTIFY: one asking for the Message Content intent (not enabled for this bot) is closed the way
Discord does (4014); any other gets READY (in no servers) and its heartbeats answered. It runs in a
thread with its own event loop, since `postbot run` runs its own (`asyncio.run`). Tests point
discord.py at it by setting `discord.http.Route.BASE` (in a child process: tests/startup_child.py).
"""

from __future__ import annotations

import asyncio
import json
import threading

from aiohttp import web

GOOD_TOKEN = "good-token"
APPLICATION_ID = 777000000000000001
USER = {"id": str(APPLICATION_ID), "username": "postbot", "discriminator": "0", "avatar": None, "bot": True, "global_name": None}
APPLICATION = {
    "id": str(APPLICATION_ID), "name": "postbot", "description": "", "icon": None, "bot_public": True,
    "bot_require_code_grant": False, "owner": USER, "verify_key": "0" * 64, "flags": 0,
}
PRIVILEGED_INTENTS_REQUIRED = 4014
MESSAGE_CONTENT = 1 << 15  # the privileged intent this bot has not enabled


def as_json(data, status: int = 200) -> web.Response:
    """JSON as Discord sends it: discord.py reads a body as JSON only for exactly `application/json`."""
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


class FakeDiscord:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self.identified = 0
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    def __enter__(self) -> FakeDiscord:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    def __exit__(self, *exc_info) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/v10/users/@me", self.me)
        app.router.add_get("/api/v10/oauth2/applications/@me", self.application)
        app.router.add_put("/api/v10/applications/{id}/commands", self.commands)
        app.router.add_get("/api/v10/gateway/bot", self.gateway_bot)
        app.router.add_get("/gateway", self.gateway)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bot {GOOD_TOKEN}"

    def _unauthorised(self) -> web.Response:
        return as_json({"message": "401: Unauthorized", "code": 0}, status=401)

    async def me(self, request: web.Request) -> web.Response:
        return as_json(USER) if self._authorised(request) else self._unauthorised()

    async def application(self, request: web.Request) -> web.Response:
        return as_json(APPLICATION) if self._authorised(request) else self._unauthorised()

    async def commands(self, request: web.Request) -> web.Response:
        return as_json([])

    async def gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return as_json({"url": f"ws://127.0.0.1:{self.port}/gateway", "shards": 1, "session_start_limit": limit})

    async def gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 45000}, "s": None, "t": None}))
        async for message in ws:
            payload = json.loads(message.data)
            if payload.get("op") == 1:  # heartbeat
                await ws.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
            elif payload.get("op") == 2:  # IDENTIFY
                self.identified += 1
                if payload["d"]["intents"] & MESSAGE_CONTENT:  # not enabled for this bot in the portal
                    await ws.close(code=PRIVILEGED_INTENTS_REQUIRED, message=b"Disallowed intent(s).")
                    break
                ready = {
                    "v": 10, "user": USER, "guilds": [], "session_id": "fake-session", "shard": payload["d"].get("shard", [0, 1]),
                    "resume_gateway_url": f"ws://127.0.0.1:{self.port}/gateway", "application": {"id": str(APPLICATION_ID), "flags": 0},
                }
                await ws.send_str(json.dumps({"op": 0, "t": "READY", "s": 1, "d": ready}))
        return ws
