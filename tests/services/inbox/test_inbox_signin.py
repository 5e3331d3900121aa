"""Staff sign-in hardening (issue 9) against a real inbox on loopback: throttling that others' failures cannot turn
into a lockout, reservations before the password check, the production scrypt cost and its upgrade, idle timeouts
and revocation when the password changes, and malformed forms."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any, AsyncIterator, Optional

import aiohttp
import pytest

from services.inbox import auth
from services.inbox.app import STATE
from services.inbox.auth import SESSION_COOKIE
from services.inbox.passwords import (
    CURRENT_COST,
    GENERATED_HASH_FILE,
    UPGRADED_HASH_FILE,
    ScryptCost,
    hash_password,
    parse_hash,
)
from tests.services.inbox.inbox_helpers import (
    ADMIN_PASSWORD,
    CSRF_FIELD,
    TEST_COST,
    page_csrf,
    running_inbox,
    sign_in,
)

OLD_COST = ScryptCost(n=2**14, r=8, p=1)  # the cost hashes were made with before this change


@contextlib.asynccontextmanager
async def browser_at(address: str) -> AsyncIterator[aiohttp.ClientSession]:
    """A browser on another machine: its connections come from `address` (any 127.x.y.z is this host)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0), force_close=True)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def sign_in_with(
    session: aiohttp.ClientSession, base: Any, password: str, headers: Optional[dict] = None
) -> aiohttp.ClientResponse:
    async with session.get(base.with_path("/login"), headers=headers) as page:
        token = CSRF_FIELD.search(await page.text()).group(1)
    form = {"csrf_token": token, "username": "staff", "password": password}
    async with session.post(base.with_path("/login"), data=form, headers=headers, allow_redirects=False) as response:
        await response.read()
        return response


class CountingChecks:
    """Counts how many sign-ins reach the password check (and runs the real check)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = auth.check_credentials

        def counted(*args: Any) -> bool:
            self.calls += 1
            return real(*args)

        monkeypatch.setattr(auth, "check_credentials", counted)


# --- throttling ------------------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_failures_from_elsewhere_never_lock_staff_out(make_settings, sqlite_url) -> None:
    # Before: five wrong passwords from anywhere blocked the username everywhere (429 for the real staff member).
    async with running_inbox(make_settings(sqlite_url)) as client:
        base = client.make_url("/")
        async with browser_at("127.0.0.2") as attacker:
            statuses = [(await sign_in_with(attacker, base, "guess-" + str(n))).status for n in range(12)]
        assert statuses[:4] == [401] * 4 and set(statuses[4:]) == {429}
        async with browser_at("127.0.0.3") as staff:
            assert (await sign_in_with(staff, base, ADMIN_PASSWORD)).status == 303


@pytest.mark.asyncio
async def test_a_burst_of_100_guesses_reaches_the_check_a_few_times_while_staff_elsewhere_sign_in(
    make_settings, sqlite_url, monkeypatch
) -> None:
    # Before: all 100 concurrent guesses reached the password check (the failure was recorded after it).
    checks = CountingChecks(monkeypatch)
    async with running_inbox(make_settings(sqlite_url)) as client:
        base = client.make_url("/")
        page = await client.get("/login")
        token = CSRF_FIELD.search(await page.text()).group(1)

        async def guess(n: int) -> aiohttp.ClientResponse:
            form = {"csrf_token": token, "username": "staff", "password": f"guess-{n}"}
            response = await client.post("/login", data=form, allow_redirects=False)
            await response.read()
            return response

        async def staff_sign_in() -> int:
            await asyncio.sleep(0.05)  # while the flood is in flight
            async with browser_at("127.0.0.4") as staff:
                return (await sign_in_with(staff, base, ADMIN_PASSWORD)).status

        *guesses, staff_status = await asyncio.gather(*(guess(n) for n in range(100)), staff_sign_in())
    statuses = [r.status for r in guesses]
    assert statuses.count(401) <= 4 and statuses.count(429) >= 96, statuses
    assert checks.calls <= 5  # the guesses that got 401, and the staff member's sign-in
    refused = [r for r in guesses if r.status == 429]
    assert all(int(r.headers["Retry-After"]) >= 1 for r in refused)
    assert staff_status == 303


@pytest.mark.asyncio
async def test_refusals_say_how_long_to_wait_and_the_wait_grows(make_settings, sqlite_url) -> None:
    throttle = auth.SignInThrottle(free_failures_per_user=1, base_delay_s=1.0)
    async with running_inbox(make_settings(sqlite_url), throttle=throttle) as client:
        assert (await sign_in(client, password="guess-1")).status == 401
        assert (await sign_in(client, password="guess-2")).status == 401  # the wait starts here: 1 s
        first = await sign_in(client)  # even the right password waits from this address
        assert first.status == 429 and first.headers["Retry-After"] == "1"
        assert "Wait 1 second and try again" in await first.text()
        await asyncio.sleep(1.05)
        assert (await sign_in(client, password="guess-3")).status == 401  # allowed again, and fails: 2 s
        second = await sign_in(client, password="guess-4")
        assert second.status == 429 and second.headers["Retry-After"] == "2"
        assert (await client.get("/", allow_redirects=False)).status == 302


@pytest.mark.asyncio
async def test_a_trusted_proxy_passes_the_client_address_and_nobody_else_can(make_settings, sqlite_url) -> None:
    settings = make_settings(sqlite_url, trusted_proxies=("127.0.0.5/32",))
    async with running_inbox(settings) as client:
        base = client.make_url("/")
        # Through the proxy: one client's guesses are throttled, another client behind the same proxy is not.
        async with browser_at("127.0.0.5") as proxy:
            flood = [await sign_in_with(proxy, base, "guess", {"X-Forwarded-For": "198.51.100.7"}) for _ in range(8)]
            assert [r.status for r in flood][-1] == 429
            staff = await sign_in_with(proxy, base, ADMIN_PASSWORD, {"X-Forwarded-For": "203.0.113.9, 198.51.100.8"})
            assert staff.status == 303
        # Not a trusted proxy: its X-Forwarded-For is ignored, so new values each time do not reset the throttle.
        async with browser_at("127.0.0.6") as direct:
            spoofed = [await sign_in_with(direct, base, "guess", {"X-Forwarded-For": f"192.0.2.{n}"}) for n in range(8)]
            assert [r.status for r in spoofed][-1] == 429


# --- the password hash -----------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_production_cost_verifies_an_old_hash_and_upgrades_it_on_sign_in(make_settings, sqlite_url) -> None:
    old_hash = hash_password(ADMIN_PASSWORD, OLD_COST)
    settings = make_settings(sqlite_url, inbox_admin_password_hash=old_hash)
    async with running_inbox(settings, password_cost=CURRENT_COST) as client:
        state = client.server.app[STATE]
        first = await sign_in(client)
        assert first.status == 303
        upgraded = state.admin_password_hash
        assert upgraded.startswith("scrypt$131072$8$1$") and parse_hash(upgraded) is not None
        kept = (settings.data_dir / UPGRADED_HASH_FILE).read_text()
        assert upgraded in kept and old_hash not in kept
        assert (await client.get("/", allow_redirects=False)).status == 200  # this session survived the upgrade
        started = time.monotonic()
        async with browser_at("127.0.0.7") as other:
            assert (await sign_in_with(other, client.make_url("/"), ADMIN_PASSWORD + "x")).status == 401
            assert (await sign_in_with(other, client.make_url("/"), ADMIN_PASSWORD)).status == 303
        print(f"two sign-ins at N=2^17: {time.monotonic() - started:.2f} s")
        assert state.admin_password_hash == upgraded  # verified at the new cost, nothing more to upgrade
    # The next start uses the upgraded hash, not the configured old one.
    async with running_inbox(settings, password_cost=CURRENT_COST) as client:
        assert client.server.app[STATE].admin_password_hash == upgraded
        assert (await sign_in(client)).status == 303


@pytest.mark.asyncio
async def test_a_generated_hash_is_upgraded_in_place(make_settings, sqlite_url) -> None:
    settings = make_settings(sqlite_url, inbox_admin_password_hash="")
    cheaper, target = ScryptCost(2**10, 8, 1), ScryptCost(2**11, 8, 1)
    async with running_inbox(settings, password_cost=cheaper):
        pass  # the first start generates the password (at the cheaper cost)
    password = (settings.data_dir / "inbox_admin_password.txt").read_text().strip()
    async with running_inbox(settings, password_cost=target) as client:
        assert (await sign_in(client, password=password)).status == 303
        assert (settings.data_dir / GENERATED_HASH_FILE).read_text().startswith("scrypt$2048$8$1$")


# --- sessions --------------------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_an_idle_session_is_signed_out_and_a_used_one_is_not(make_settings, sqlite_url) -> None:
    async with running_inbox(make_settings(sqlite_url, inbox_session_idle_minutes=30.0)) as client:
        await sign_in(client)
        store = client.server.app[STATE].store
        with store.engine.begin() as conn:  # used 29 minutes ago: still signed in, and the use is recorded
            conn.exec_driver_sql("UPDATE inbox_sessions SET last_seen_at = ?", (time.time() - 29 * 60,))
        assert (await client.get("/", allow_redirects=False)).status == 200
        with store.engine.connect() as conn:
            (last_seen,) = conn.exec_driver_sql("SELECT last_seen_at FROM inbox_sessions").one()
        assert time.time() - last_seen < 5
        with store.engine.begin() as conn:  # 31 minutes idle: signed out, though the 8 hours are not over
            conn.exec_driver_sql("UPDATE inbox_sessions SET last_seen_at = ?", (time.time() - 31 * 60,))
        assert (await client.get("/", allow_redirects=False)).status == 302
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM inbox_sessions").scalar() == 0


@pytest.mark.asyncio
async def test_a_new_password_hash_signs_every_session_out(make_settings, sqlite_url) -> None:
    settings = make_settings(sqlite_url)
    async with running_inbox(settings) as client:
        await sign_in(client)
        cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))[SESSION_COOKIE].value
        assert (await client.get("/", allow_redirects=False)).status == 200
    new_password = "a brand new staff password"
    changed = dataclass_replace(settings, inbox_admin_password_hash=hash_password(new_password, TEST_COST))
    async with running_inbox(changed) as client:
        client.session.cookie_jar.update_cookies({SESSION_COOKIE: cookie})
        assert (await client.get("/", allow_redirects=False)).status == 302  # before: still signed in
        assert (await sign_in(client, password=new_password)).status == 303
    # Same password again: the sessions opened with it stay.
    async with running_inbox(changed) as client:
        assert (await sign_in(client, password=new_password)).status == 303
    async with running_inbox(changed) as client:
        assert client.server.app[STATE].store.engine  # restarted with the same hash
        with client.server.app[STATE].store.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM inbox_sessions").scalar() == 2


def dataclass_replace(settings: Any, **changes: Any) -> Any:
    import dataclasses

    return dataclasses.replace(settings, **changes)


@pytest.mark.asyncio
async def test_sessions_table_from_before_is_migrated_and_its_sessions_end(make_settings, tmp_path: Path) -> None:
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # the table as it shipped before idle timeouts and revocation
        conn.exec_driver_sql(
            "CREATE TABLE inbox_sessions (token_hash VARCHAR(64) PRIMARY KEY, username VARCHAR(200) NOT NULL, "
            "csrf_token VARCHAR(128) NOT NULL, created_at FLOAT NOT NULL, expires_at FLOAT NOT NULL)"
        )
        conn.exec_driver_sql("INSERT INTO inbox_sessions VALUES ('old', 'staff', 'c', 0, ?)", (time.time() + 3600,))
    engine.dispose()
    async with running_inbox(make_settings(url)) as client:
        with client.server.app[STATE].store.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM inbox_sessions").scalar() == 0
        assert (await sign_in(client)).status == 303
        assert (await client.get("/", allow_redirects=False)).status == 200


# --- malformed forms -------------------------------------------------------------------------------------------
@pytest.mark.asyncio
@pytest.mark.parametrize(
    "body,content_type",
    [
        (b"csrf_token=TOKEN&username=\xff\xfe&password=x", "application/x-www-form-urlencoded"),
        (b"username=staff", "multipart/form-data"),  # no boundary
        (b'--b\r\nContent-Disposition: form-data; name="username"\r\n\r\nstaff', "multipart/form-data; boundary=b"),
        (b"csrf_token=TOKEN&username=staff&password=x", "application/x-www-form-urlencoded; charset=no-such"),
    ],
)
async def test_a_malformed_sign_in_form_gets_400_not_500(make_settings, sqlite_url, body, content_type) -> None:
    async with running_inbox(make_settings(sqlite_url)) as client:
        page = await client.get("/login")
        token = CSRF_FIELD.search(await page.text()).group(1)
        response = await client.post(
            "/login", data=body.replace(b"TOKEN", token.encode()), headers={"Content-Type": content_type}
        )
        assert response.status == 400
        assert "could not be read" in await response.text()
        assert (await client.get("/", allow_redirects=False)).status == 302


@pytest.mark.asyncio
async def test_a_malformed_staff_form_gets_400_and_changes_nothing(make_settings, sqlite_url) -> None:
    async with running_inbox(make_settings(sqlite_url)) as client:
        await sign_in(client)
        token = await page_csrf(client)
        response = await client.post(
            "/logout",
            data=f"csrf_token={token}&x=\xff".encode("latin-1"),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            allow_redirects=False,
        )
        assert response.status == 400
        assert (await client.get("/", allow_redirects=False)).status == 200


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "body,content_type",
    [
        (b"--b\r\nContent-Type: text/plain\r\n\r\nxx\r\n--b--\r\n", "multipart/form-data; boundary=b"),
        (b"--b\r\nContent-Disposition: form-data\r\n\r\nxx\r\n--b--\r\n", "multipart/form-data; boundary=b"),
        (
            b'--b\r\nContent-Disposition: form-data; name="username"; filename="a.txt"\r\n\r\nxx\r\n--b--\r\n',
            "multipart/form-data; boundary=b",
        ),
        (
            b'--b\r\nContent-Disposition: form-data; name="x"\r\nContent-Encoding: gzip\r\n\r\nnot gzip\r\n--b--\r\n',
            "multipart/form-data; boundary=b",
        ),
        (b"a=%zz&b=%", "application/x-www-form-urlencoded"),
        (b"\x00\x01", "application/x-www-form-urlencoded"),
        (b"x", "multipart/form-data; boundary="),
    ],
)
async def test_odd_forms_never_get_a_server_error(make_settings, sqlite_url, body, content_type) -> None:
    async with running_inbox(make_settings(sqlite_url)) as client:
        response = await client.post("/login", data=body, headers={"Content-Type": content_type})
        assert response.status in (400, 403), response.status
