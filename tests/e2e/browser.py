"""A real headless Chromium (Debian's), driven over the DevTools protocol: enough to sign in and read pages."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from typing import Any, Optional

import aiohttp

from tests.e2e.stack import free_port

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> Optional[str]:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    def __init__(self) -> None:
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="haven-chromium-")
        self.process: Optional[subprocess.Popen] = None
        self.ws: Optional[aiohttp.ClientWebSocketResponse] = None
        self.session: Optional[aiohttp.ClientSession] = None
        self._id = 0

    async def __aenter__(self) -> Browser:
        self.process = subprocess.Popen(
            [
                chromium_path(),
                *CHROMIUM_FLAGS,
                f"--remote-debugging-port={self.port}",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        target = None
        while time.monotonic() < deadline and target is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=2) as r:
                    target = next((t for t in json.load(r) if t.get("type") == "page"), None)
            except OSError:
                await asyncio.sleep(0.3)
        assert target, "chromium did not start"
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        await self.send("Page.enable")
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self.ws:
            await self.ws.close()
        if self.session:
            await self.session.close()
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)

    async def send(self, method: str, **params: Any) -> dict:
        self._id += 1
        my_id = self._id
        await self.ws.send_json({"id": my_id, "method": method, "params": params})
        while True:
            message = await self.ws.receive_json(timeout=30)
            if message.get("id") == my_id:
                return message.get("result", {})

    async def wait_event(self, name: str, timeout_s: float = 15.0) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            message = await self.ws.receive_json(timeout=timeout_s)
            if message.get("method") == name:
                return message.get("params", {})
        raise AssertionError(f"no {name} in {timeout_s}s")

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", url=url)
        await self.wait_event("Page.loadEventFired")

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    async def submit(self, form_js: str) -> None:
        """Run JS that fills and submits a form, then wait for the next page to load."""
        await self.send("Runtime.evaluate", expression=form_js)
        await self.wait_event("Page.loadEventFired")
