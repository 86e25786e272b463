"""Login throttling: per account and per address for unknown browsers, per account and device for a
browser that has logged in before, and the client address read through trusted proxies only."""

from __future__ import annotations

import ipaddress

import pytest
from fastapi.testclient import TestClient

from smeai.app import create_app
from smeai.auth import service
from smeai.auth.deps import DEVICE_COOKIE
from smeai.errors import NotAuthenticated, Throttled
from smeai.web.client import forwarded_client
from tests import builders


def _fail(session, settings, *, email: str, address: str, cookie: str | None = None) -> None:
    with pytest.raises(NotAuthenticated):
        service.authenticate(
            session, settings, email=email, password="guess", address=address, device_cookie_value=cookie
        )
    session.rollback()  # the edge rolls back; the failure count must survive it


def _login(session, settings, *, email: str, address: str, cookie: str | None = None):
    user = service.authenticate(
        session, settings, email=email, password=builders.PASSWORD, address=address, device_cookie_value=cookie
    )
    session.commit()
    return user


def test_failures_from_one_address_throttle_unknown_browsers_for_every_account_there(session, settings):
    builders.enterprise(session, email="colleague@jia.cn")
    session.commit()
    for n in range(settings.login_max_failures_per_address):
        _fail(session, settings, email=f"nobody{n}@jia.cn", address="7.7.7.7")  # each account only once
    with pytest.raises(Throttled):
        _login(session, settings, email="colleague@jia.cn", address="7.7.7.7")
    assert _login(session, settings, email="colleague@jia.cn", address="8.8.8.8")  # other addresses are not


def test_a_browser_that_logged_in_before_is_not_locked_out_by_its_address(session, settings):
    actor = builders.enterprise(session, email="owner@jia.cn")
    session.commit()
    cookie = service.device_cookie(settings, actor.user_id)
    for n in range(settings.login_max_failures_per_address):
        _fail(session, settings, email=f"nobody{n}@jia.cn", address="7.7.7.7")
    assert _login(session, settings, email="owner@jia.cn", address="7.7.7.7", cookie=cookie).id == actor.user_id


def test_an_attacker_locking_an_account_does_not_lock_out_its_owners_browser(session, settings):
    actor = builders.enterprise(session, email="target@jia.cn")
    session.commit()
    cookie = service.device_cookie(settings, actor.user_id)
    for _ in range(settings.login_max_failures * 3):
        try:
            _fail(session, settings, email="target@jia.cn", address="6.6.6.6")
        except Throttled:
            session.rollback()
    with pytest.raises(Throttled):  # a browser the account has never used: locked for the window
        _login(session, settings, email="target@jia.cn", address="5.5.5.5")
    assert _login(session, settings, email="target@jia.cn", address="5.5.5.5", cookie=cookie).id == actor.user_id


def test_a_known_browser_has_its_own_limit(session, settings):
    actor = builders.enterprise(session, email="typo@jia.cn")
    session.commit()
    cookie = service.device_cookie(settings, actor.user_id)
    for _ in range(settings.login_max_failures):
        _fail(session, settings, email="typo@jia.cn", address="4.4.4.4", cookie=cookie)
    with pytest.raises(Throttled):
        _login(session, settings, email="typo@jia.cn", address="4.4.4.4", cookie=cookie)
    # its failures are its own: the account is not locked for other browsers
    assert _login(session, settings, email="typo@jia.cn", address="4.4.4.4").id == actor.user_id


def test_a_forged_or_foreign_device_cookie_is_not_honoured(session, settings):
    a = builders.enterprise(session, email="a@jia.cn")
    b = builders.enterprise(session, email="b@jia.cn")
    session.commit()
    for_b = service.device_cookie(settings, b.user_id)
    device, _owner, signature = for_b.split(".")
    assert service.known_device(settings, for_b, b.user_id) == device
    assert service.known_device(settings, for_b, a.user_id) is None
    assert service.known_device(settings, f"{device}.{a.user_id}.{signature}", a.user_id) is None
    assert service.known_device(settings, "garbage", a.user_id) is None
    for _ in range(settings.login_max_failures):
        _fail(session, settings, email="a@jia.cn", address="3.3.3.3")
    with pytest.raises(Throttled):
        _login(session, settings, email="a@jia.cn", address="3.3.3.3", cookie=for_b)


def _page_login(browser, email: str, password: str):
    return browser.post(
        "/login", data={"email": email, "password": password, "csrf_token": browser.csrf}, follow_redirects=False
    )


def test_the_login_page_sets_a_device_cookie_that_keeps_the_browser_in(session, page_client_for, settings):
    builders.enterprise(session, email="shared-office@jia.cn")
    session.commit()
    browser = page_client_for(None)
    assert _page_login(browser, "shared-office@jia.cn", builders.PASSWORD).status_code == 303
    assert browser.cookies.get(DEVICE_COOKIE)
    browser.post("/logout", data={"csrf_token": browser.csrf})
    browser.refresh_csrf("/login")
    stranger = page_client_for(None)  # same address ("testclient"), no device cookie
    for n in range(settings.login_max_failures_per_address):
        assert _page_login(stranger, f"guess{n}@jia.cn", "x").status_code == 401
    assert _page_login(stranger, "shared-office@jia.cn", builders.PASSWORD).status_code == 429
    assert _page_login(browser, "shared-office@jia.cn", builders.PASSWORD).status_code == 303


def test_the_token_endpoint_honours_the_device_cookie_too(session, client, settings):
    builders.enterprise(session, email="script@jia.cn")
    session.commit()
    good = {"email": "script@jia.cn", "password": builders.PASSWORD}
    assert client.post("/api/v1/auth/token", json=good).status_code == 201
    cookie = client.cookies.get(DEVICE_COOKIE)
    assert cookie
    client.cookies.clear()
    for _ in range(settings.login_max_failures):
        client.post("/api/v1/auth/token", json=good | {"password": "x"})
    assert client.post("/api/v1/auth/token", json=good).status_code == 429
    client.cookies.set(DEVICE_COOKIE, cookie)
    assert client.post("/api/v1/auth/token", json=good).status_code == 201


# --- the client address -------------------------------------------------------------------------


def _nets(*items: str):
    return tuple(ipaddress.ip_network(i) for i in items)


def test_x_forwarded_for_is_ignored_without_trusted_proxies():
    assert forwarded_client("127.0.0.1", ["1.2.3.4"], ()) == "127.0.0.1"


def test_x_forwarded_for_is_ignored_from_an_untrusted_peer():
    assert forwarded_client("9.9.9.9", ["1.2.3.4"], _nets("10.0.0.0/8")) == "9.9.9.9"


def test_the_right_most_untrusted_address_is_the_client():
    proxies = _nets("10.0.0.0/8")
    # the client wrote "6.6.6.6" itself; the proxy appended the address it saw
    assert forwarded_client("10.0.0.2", ["6.6.6.6, 1.2.3.4"], proxies) == "1.2.3.4"
    assert forwarded_client("10.0.0.2", ["6.6.6.6", "1.2.3.4, 10.0.0.9"], proxies) == "1.2.3.4"
    assert forwarded_client("10.0.0.2", ["10.0.0.7"], proxies) == "10.0.0.7"  # all trusted: the farthest
    assert forwarded_client("10.0.0.2", ["1.2.3.4, not-an-ip"], proxies) == "10.0.0.2"
    assert forwarded_client("10.0.0.2", ["2001:db8::1"], proxies) == "2001:db8::1"


def test_a_client_on_the_host_cannot_escape_the_address_throttle_with_x_forwarded_for(session, settings):
    builders.enterprise(session, email="victim@jia.cn")
    session.commit()
    local = TestClient(create_app(settings), client=("127.0.0.1", 40000))
    for n in range(settings.login_max_failures_per_address):
        r = local.post(
            "/api/v1/auth/token",
            json={"email": f"guess{n}@jia.cn", "password": "x"},
            headers={"X-Forwarded-For": f"203.0.113.{n}"},
        )
        assert r.status_code == 401
    r = local.post(
        "/api/v1/auth/token",
        json={"email": "victim@jia.cn", "password": "x"},
        headers={"X-Forwarded-For": "198.51.100.1"},
    )
    assert r.status_code == 429


def test_behind_a_trusted_proxy_each_client_has_its_own_count(session, settings):
    builders.enterprise(session, email="behind@jia.cn")
    session.commit()
    proxied = settings.model_copy(update={"trusted_proxies": ["127.0.0.1"]})
    proxy = TestClient(create_app(proxied), client=("127.0.0.1", 40000))
    for n in range(settings.login_max_failures_per_address):
        proxy.post(
            "/api/v1/auth/token",
            json={"email": f"guess{n}@jia.cn", "password": "x"},
            headers={"X-Forwarded-For": "1.1.1.1, 203.0.113.5"},  # the attacker's own prefix is not believed
        )
    good = {"email": "behind@jia.cn", "password": builders.PASSWORD}
    assert proxy.post("/api/v1/auth/token", json=good, headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 429
    assert proxy.post("/api/v1/auth/token", json=good, headers={"X-Forwarded-For": "203.0.113.6"}).status_code == 201


def test_attempts_older_than_any_window_are_dropped(session, settings, monkeypatch):
    from datetime import timedelta

    from sqlalchemy import func, select

    from smeai.auth.models import LoginAttempt
    from smeai.db import utcnow

    _fail(session, settings, email="old@jia.cn", address="2.2.2.2")
    later = utcnow() + timedelta(days=2)
    monkeypatch.setattr(service, "utcnow", lambda: later)
    _fail(session, settings, email="new@jia.cn", address="2.2.2.2")
    emails = session.scalars(select(LoginAttempt.email)).all()
    assert emails == ["new@jia.cn"]
    assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 1
