"""The real stack behind deploy/nginx/haven.conf, run by Debian's nginx over TLS on loopback.

tests/deploy/test_nginx_proxy.py checks the proxy against a stand-in; this checks it with Rasa itself: a turn of
the REST chat, the web widget's CORS preflight answered by Rasa for the allowed origins only, a Twilio-signed
SMS whose signature still verifies behind the proxy (the path and query reach Rasa unchanged), and Rasa's own
routes that answer directly but not through the proxy.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Dict, Iterator, Optional

import pytest

from tests.deploy.nginx_runner import (
    CHAT_TEMPLATE,
    Answer,
    NginxMissing,
    free_port,
    make_certificate,
    raw_request,
    render,
    running_nginx,
)
from tests.e2e.sms_phone import PATH as SMS_PATH
from tests.e2e.sms_phone import SIGNED_URL, Phone, sign
from tests.e2e.stack import SMS_PUBLIC_URL, Stack, http_status

SERVER_NAME = urllib.parse.urlsplit(SMS_PUBLIC_URL).hostname or ""  # the public name Twilio calls


class Front:
    def __init__(self, port: int, cafile: Path) -> None:
        self.port = port
        self.cafile = cafile

    def request(self, method: str, path: str, body: bytes = b"", headers: Optional[Dict[str, str]] = None) -> Answer:
        return raw_request(self.port, method, path, body, headers, host=SERVER_NAME, cafile=self.cafile)


@pytest.fixture(scope="module")
def front(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    directory = tmp_path_factory.mktemp("nginx")
    cert, key = make_certificate(directory, [SERVER_NAME])
    https_port = free_port()
    site = render(
        CHAT_TEMPLATE.read_text(),
        {
            "HAVEN_SERVER_NAME": SERVER_NAME,
            "HAVEN_HTTPS_LISTEN": f"127.0.0.1:{https_port}",
            "HAVEN_HTTP_LISTEN": f"127.0.0.1:{free_port()}",
            "HAVEN_TLS_CERT": str(cert),
            "HAVEN_TLS_KEY": str(key),
            "HAVEN_RASA_SERVERS": f"server 127.0.0.1:{stack.rasa_port};",
            "HAVEN_ACCESS_LOG": str(directory / "access.log"),
        },
    )
    try:
        with running_nginx(site, directory, https_port):
            yield Front(https_port, cert)
    except NginxMissing as missing:
        pytest.fail(str(missing))


def test_a_chat_turn_through_the_proxy(front: Front) -> None:
    body = json.dumps({"sender": "proxy-e2e-visitor-1", "message": "hi"}).encode()
    status, headers, answer = front.request(
        "POST", "/webhooks/rest/webhook", body, {"Content-Type": "application/json"}
    )
    assert status == 200, answer
    texts = [message.get("text", "") for message in json.loads(answer)]
    assert any("pre-screening helper" in text for text in texts), texts
    assert headers["strict-transport-security"].startswith("max-age=")
    assert headers["server"] == "nginx"


def test_rasa_answers_the_widgets_preflight_for_allowed_origins_only(front: Front, stack: Stack) -> None:
    allowed = f"http://127.0.0.1:{stack.inbox_port}"  # the demo page's origin, always allowed (docs/widget.md)
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    status, headers, _ = front.request("OPTIONS", "/webhooks/rest/webhook", headers={"Origin": allowed, **preflight})
    assert status in (200, 204)
    assert headers.get("access-control-allow-origin") == allowed
    _, headers, _ = front.request(
        "OPTIONS", "/webhooks/rest/webhook", headers={"Origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in headers
    body = json.dumps({"sender": "proxy-e2e-visitor-2", "message": "hi"}).encode()
    status, headers, _ = front.request(
        "POST", "/webhooks/rest/webhook", body, {"Content-Type": "application/json", "Origin": allowed}
    )
    assert status == 200
    assert headers.get("access-control-allow-origin") == allowed


def test_a_twilio_signature_still_verifies_behind_the_proxy(front: Front, stack: Stack) -> None:
    phone = Phone(stack)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for query in ("", "?campaign=spring"):
        fields = phone.fields("HELP")
        signed = {**headers, "X-Twilio-Signature": sign(fields, url=SIGNED_URL + query)}
        body = urllib.parse.urlencode(fields).encode()
        status, answer_headers, answer = front.request("POST", SMS_PATH + query, body, signed)
        assert status == 200, answer
        assert answer_headers["content-type"].startswith("application/xml")
        assert b"<Message>" in answer
    # Signed for another URL than the one called: refused by the chat server, so the check is live.
    fields = phone.fields("HELP")
    wrong = {**headers, "X-Twilio-Signature": sign(fields, url=SIGNED_URL + "?campaign=other")}
    status, _, _ = front.request("POST", SMS_PATH, urllib.parse.urlencode(fields).encode(), wrong)
    assert status == 403


def test_rasas_other_routes_answer_directly_but_not_through_the_proxy(front: Front, stack: Stack) -> None:
    assert http_status(f"http://127.0.0.1:{stack.rasa_port}/webhooks/rest/") == 200
    assert http_status(f"http://127.0.0.1:{stack.rasa_port}/") == 200
    for path in ("/webhooks/rest/", "/", "/version", "/status"):
        status, _, answer = front.request("GET", path)
        assert status == 404, path
        assert json.loads(answer) == {"error": "not_found"}
