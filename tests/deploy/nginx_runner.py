"""Run Debian's nginx with deploy/nginx/*.conf rendered for loopback, and talk to it byte for byte.

Standard library only: the proxy tests use it in the services environment (tests/deploy/, against a stand-in for
Rasa) and in the Rasa environment (tests/e2e/test_proxy_e2e.py, against the real stack).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from contextlib import contextmanager
from http.client import HTTPResponse
from pathlib import Path
from typing import Dict, Iterator, Optional, Sequence, Tuple

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NGINX_DIR = PROJECT_ROOT / "deploy" / "nginx"
CHAT_TEMPLATE = NGINX_DIR / "haven.conf"
STAFF_TEMPLATE = NGINX_DIR / "haven-staff.conf"

Answer = Tuple[int, Dict[str, str], bytes]


class NginxMissing(RuntimeError):
    pass


def render(template: str, values: Dict[str, str]) -> str:
    """What envsubst (or the nginx image's templates) does with the ${HAVEN_...} placeholders, and no more."""
    rendered = re.sub(r"\$\{(HAVEN_[A-Z_]+)\}", lambda match: values[match.group(1)], template)
    assert not re.search(r"\$\{HAVEN_", rendered)
    return rendered


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found is None:
        raise NginxMissing("nginx is not installed: run scripts/ensure_nginx.sh (make test does)")
    return found


def make_certificate(directory: Path, names: Sequence[str]) -> Tuple[Path, Path]:
    """A self-signed RSA certificate for `names` (RSA, so a test can offer RSA-only cipher suites)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    alt = ",".join(f"DNS:{name}" for name in names)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={names[0]}",
         "-addext", f"subjectAltName={alt}", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@contextmanager
def running_nginx(site: str, directory: Path, wait_port: int) -> Iterator[Path]:
    """nginx with `site` inside `http { }`, its prefix, pid, logs and temp files in `directory`; yields the error
    log's path once `wait_port` accepts connections, and stops it after."""
    (directory / "site.conf").write_text(site)
    temp = "\n".join(
        f"    {kind}_temp_path {directory / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    error_log = directory / "error.log"
    (directory / "nginx.conf").write_text(
        f"daemon off;\nworker_processes 1;\npid {directory / 'nginx.pid'};\nerror_log {error_log} warn;\n"
        f"events {{ worker_connections 512; }}\n"
        f"http {{\n{temp}\n    include {directory / 'site.conf'};\n}}\n"
    )
    command = [nginx_binary(), "-p", str(directory), "-c", str(directory / "nginx.conf"), "-e", str(error_log)]
    check = subprocess.run([*command, "-t"], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t refused the configuration:\n{check.stderr}")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60  # a bound on waiting for it to listen, not a speed check
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"nginx exited: {process.stderr.read() if process.stderr else ''}")
            try:
                socket.create_connection(("127.0.0.1", wait_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("nginx did not listen within 60 s") from None
                time.sleep(0.1)
        yield error_log
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def raw_request(
    port: int,
    method: str,
    path: str,
    body: bytes = b"",
    headers: Optional[Dict[str, str]] = None,
    *,
    host: str,
    cafile: Optional[Path] = None,
    source: str = "127.0.0.1",
    timeout_s: float = 60,
) -> Answer:
    """One HTTP/1.1 request with the path exactly as given (never normalised by a client library); over TLS
    with SNI `host`, verified against `cafile`, unless `cafile` is None (plain HTTP)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s, source_address=(source, 0))
    try:
        if cafile is not None:
            sock = ssl.create_default_context(cafile=str(cafile)).wrap_socket(sock, server_hostname=host)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if body or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body)}")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        response = HTTPResponse(sock)
        response.begin()
        received = {name.lower(): value for name, value in response.getheaders()}
        return response.status, received, response.read()
    finally:
        sock.close()
