"""The sign-in limits: every sign-in form (the website's and the operator console's at /admin/)
counts attempts per client address and per (address, username), so guessing is slowed down
and nobody can lock another customer out by failing on their username."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from staff import current_code

from smmpanel.accounts.models import User

PASSWORD = "Quiet-harbour-71"


@pytest.fixture
def strict(settings: Any) -> None:
    settings.SMMPANEL_LOGIN_BURST = 6  # per address
    settings.SMMPANEL_LOGIN_PER_MINUTE = 1
    settings.SMMPANEL_LOGIN_USER_BURST = 3  # per (address, username)
    settings.SMMPANEL_LOGIN_USER_PER_MINUTE = 1


@pytest.fixture
def bob() -> User:
    return User.objects.create_user("bob", "bob@example.com", PASSWORD)


@pytest.fixture
def operator() -> User:
    return User.objects.create_user("olga", "olga@example.com", PASSWORD, is_staff=True, is_superuser=True)


def sign_in(address: str, username: str, password: str, url: str = "/login/") -> Any:
    client = Client(REMOTE_ADDR=address)
    response = client.post(url, {"username": username, "password": password})
    response.signed_in = "_auth_user_id" in client.session
    return response


@pytest.mark.django_db
class TestNobodyIsLockedOut:
    def test_failures_on_bob_from_one_address_do_not_stop_bob_from_another(self, bob: User) -> None:
        # The defaults: ten failures from A, more than the old per-username limit allowed.
        codes = [sign_in("10.0.0.1", "bob", "wrong").status_code for _ in range(12)]
        assert codes[:3] == [200, 200, 200]
        assert codes[-1] == 429
        response = sign_in("10.0.0.2", "bob", PASSWORD)
        assert response.status_code == 302
        assert response.signed_in

    def test_the_failing_address_is_limited_even_with_the_right_password(
        self, bob: User, strict: None
    ) -> None:
        for _ in range(3):
            assert sign_in("10.0.0.1", "bob", "wrong").status_code == 200
        response = sign_in("10.0.0.1", "bob", PASSWORD)
        assert response.status_code == 429
        assert "Too many sign-in attempts" in response.content.decode()
        assert not response.signed_in

    def test_an_address_is_limited_across_usernames(self, bob: User, strict: None) -> None:
        codes = [sign_in("10.0.0.1", f"user{n}", "wrong").status_code for n in range(8)]
        assert codes == [200] * 6 + [429] * 2
        assert sign_in("10.0.0.1", "bob", PASSWORD).status_code == 429
        assert sign_in("10.0.0.3", "bob", PASSWORD).signed_in

    def test_one_username_from_one_address_has_a_tighter_limit(self, bob: User, strict: None) -> None:
        codes = [sign_in("10.0.0.1", name, "wrong").status_code for name in ["bob", "BOB ", "Bob", "bob"]]
        assert codes == [200, 200, 200, 429]  # the username is counted however it is written
        # The same address may still try another username (a colleague behind the same router).
        User.objects.create_user("cid", "cid@example.com", PASSWORD)
        assert sign_in("10.0.0.1", "cid", PASSWORD).signed_in


@pytest.mark.django_db
class TestTheConsoleSignIn:
    def test_wrong_passwords_on_the_console_are_limited_like_the_site(
        self, operator: User, strict: None
    ) -> None:
        codes = [sign_in("10.0.0.1", "olga", "wrong", "/admin/login/").status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        response = sign_in("10.0.0.1", "olga", PASSWORD, "/admin/login/")
        assert response.status_code == 429
        assert "Too many sign-in attempts" in response.content.decode()
        assert not response.signed_in

    def test_the_console_and_the_site_share_the_count(self, operator: User, strict: None) -> None:
        for url in ("/login/", "/admin/login/", "/login/"):
            assert sign_in("10.0.0.1", "olga", "wrong", url).status_code == 200
        assert sign_in("10.0.0.1", "olga", PASSWORD, "/admin/login/").status_code == 429

    def test_staff_still_sign_in_to_the_console_from_a_fresh_address(
        self, operator: User, strict: None
    ) -> None:
        for _ in range(5):
            sign_in("10.0.0.1", "olga", "wrong", "/admin/login/")
        TOTPDevice.objects.create(user=operator, name="authenticator", confirmed=True)
        client = Client(REMOTE_ADDR="10.0.0.2")
        response = client.post("/admin/login/", {"username": "olga", "password": PASSWORD, "next": "/admin/"})
        assert response.status_code == 302  # the password is right: on to the second step
        assert response["Location"] == "/console/verify/?next=%2Fadmin%2F"
        response = client.post("/console/verify/", {"code": current_code(operator), "next": "/admin/"})
        assert response["Location"] == "/admin/"
        assert client.get("/admin/").status_code == 200

    def test_the_console_still_refuses_customers(self, bob: User) -> None:
        response = sign_in("10.0.0.1", "bob", PASSWORD, "/admin/login/")
        assert response.status_code == 200
        assert not response.signed_in
        assert reverse("admin:index") == "/admin/"
