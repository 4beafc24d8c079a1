"""The website's accounts: sign-up with email confirmation, sign-in and its limit, password
reset, preferences, and the language switch."""

import re
from typing import Any

import pytest
from django.core import mail, signing
from django.test import Client
from django.urls import reverse

from smmpanel.accounts.models import User
from smmpanel.web.views.account import CONFIRM_SALT, confirmation_token

PASSWORD = "Quiet-harbour-71"


def sign_up(
    client: Client, username: str = "carol", email: str = "carol@example.com", **extra: str
) -> object:
    data = {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD} | extra
    return client.post(reverse("signup"), data)


def confirmation_link() -> str:
    assert len(mail.outbox) == 1
    match = re.search(r"https?://\S+/signup/confirm/\S+/", mail.outbox[0].body)
    assert match, mail.outbox[0].body
    return match.group(0)


def page_without_csrf_token(response: Any) -> str:
    # The token is masked afresh on every page: the only part that differs between two renders.
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


@pytest.mark.django_db
class TestSignup:
    def test_the_page_has_every_field_labelled(self, client: Client) -> None:
        page = client.get(reverse("signup")).content.decode()
        for name in ("username", "email", "password1", "password2"):
            assert f'for="id_{name}"' in page
            assert f'name="{name}"' in page

    def test_signing_up_sends_a_link_and_the_account_waits_for_it(self, client: Client) -> None:
        response = sign_up(client)
        assert response.status_code == 302
        assert response["Location"] == reverse("signup_sent")
        user = User.objects.get(username="carol")
        assert not user.email_confirmed
        assert user.balance == 0
        assert mail.outbox[0].to == ["carol@example.com"]
        assert "/signup/confirm/" in mail.outbox[0].body

    def test_an_unconfirmed_account_cannot_log_in(self, client: Client) -> None:
        sign_up(client)
        response = client.post(reverse("login"), {"username": "carol", "password": PASSWORD})
        assert response.status_code == 200
        assert "Confirm your email address first" in response.content.decode()
        assert "_auth_user_id" not in client.session

    def test_the_link_confirms_and_then_login_works(self, client: Client) -> None:
        sign_up(client)
        link = confirmation_link()
        response = client.get(link)
        assert response.status_code == 302
        assert response["Location"] == reverse("login")
        assert User.objects.get(username="carol").email_confirmed
        page = client.get(reverse("login")).content.decode()
        assert "Your email address is confirmed" in page
        response = client.post(reverse("login"), {"username": "carol", "password": PASSWORD})
        assert response.status_code == 302
        assert response["Location"] == reverse("dashboard")

    def test_confirming_twice_is_harmless(self, client: Client) -> None:
        sign_up(client)
        link = confirmation_link()
        client.get(link)
        assert client.get(link).status_code == 302
        assert User.objects.get(username="carol").email_confirmed

    @pytest.mark.parametrize(
        "token",
        ["nonsense", signing.dumps({"user": 999999, "email": "x@example.com"}, salt=CONFIRM_SALT)],
    )
    def test_a_bad_link_is_refused_clearly(self, client: Client, token: str) -> None:
        sign_up(client)
        response = client.get(reverse("signup_confirm", args=[token]))
        assert response.status_code == 400
        assert "This link is not valid" in response.content.decode()
        assert not User.objects.get(username="carol").email_confirmed

    def test_a_link_for_an_old_address_stops_working(self, client: Client) -> None:
        sign_up(client)
        user = User.objects.get(username="carol")
        token = confirmation_token(user)
        User.objects.filter(pk=user.pk).update(email="new@example.com")
        assert client.get(reverse("signup_confirm", args=[token])).status_code == 400

    @pytest.mark.parametrize(
        ("extra", "field", "message"),
        [
            ({"username": ""}, "username", "This field is required."),
            ({"email": ""}, "email", "This field is required."),
            ({"email": "not-an-address"}, "email", "Enter a valid email address."),
            ({"password2": "something-else-9"}, "password2", "The two password fields didn"),
            ({"password1": "123", "password2": "123"}, "password2", "This password is too short."),
            ({"username": "a b"}, "username", "Enter a valid username."),
        ],
    )
    def test_each_bad_field_is_explained_and_nothing_is_created(
        self, client: Client, extra: dict[str, str], field: str, message: str
    ) -> None:
        response = sign_up(client, **extra)
        assert response.status_code == 200
        assert message in response.content.decode()
        assert field in response.context["form"].errors
        assert not User.objects.filter(username="carol").exists()
        assert mail.outbox == []

    def test_a_taken_username_is_refused(self, client: Client) -> None:
        sign_up(client)
        mail.outbox.clear()
        response = sign_up(client, email="other@example.com")
        assert "A user with that username already exists." in response.content.decode()
        assert not User.objects.filter(email="other@example.com").exists()
        assert mail.outbox == []

    def test_a_known_email_gets_the_same_answer_and_its_owner_a_mail(self, client: Client) -> None:
        User.objects.create_user("carol", "carol@example.com", PASSWORD)
        form = {"password1": PASSWORD, "password2": PASSWORD}
        new = client.post(
            reverse("signup"), {"username": "dan", "email": "dan@example.com"} | form, follow=True
        )
        mail.outbox.clear()
        known = client.post(
            reverse("signup"), {"username": "mallory", "email": "CAROL@example.com"} | form, follow=True
        )
        assert [r.status_code for r in (new, known)] == [200, 200]
        assert new.redirect_chain == known.redirect_chain == [(reverse("signup_sent"), 302)]
        assert [t.name for t in new.templates] == [t.name for t in known.templates]
        assert page_without_csrf_token(new) == page_without_csrf_token(known)
        # No second account; the owner is told, with a way in.
        assert not User.objects.filter(username="mallory").exists()
        assert User.objects.filter(email__iexact="carol@example.com").count() == 1
        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == ["carol@example.com"]
        body = mail.outbox[0].body
        assert "Someone tried to sign up" in body
        assert "/login/" in body and "/password/reset/" in body
        assert "/signup/confirm/" not in body

    def test_the_owner_is_told_in_their_own_language(self, client: Client) -> None:
        owner = User.objects.create_user("carol", "carol@example.com", PASSWORD)
        User.objects.filter(pk=owner.pk).update(language="es")
        sign_up(client, username="mallory", email="carol@example.com")
        assert mail.outbox[0].subject == "Alguien intentó registrarse con tu correo electrónico"

    def test_no_form_error_mentions_a_known_email(self, client: Client) -> None:
        User.objects.create_user("carol", "carol@example.com", PASSWORD)
        known = sign_up(client, username="carol2", email="carol@example.com", password2="nope-1")
        new = sign_up(client, username="carol2", email="fresh@example.com", password2="nope-1")
        assert known.status_code == new.status_code == 200
        assert set(known.context["form"].errors) == set(new.context["form"].errors) == {"password2"}

    def test_the_link_can_be_sent_again_without_revealing_accounts(self, client: Client) -> None:
        sign_up(client)
        mail.outbox.clear()
        response = client.post(reverse("signup_resend"), {"email": "carol@example.com"})
        assert response["Location"] == reverse("signup_sent")
        assert len(mail.outbox) == 1
        response = client.post(reverse("signup_resend"), {"email": "nobody@example.com"})
        assert response["Location"] == reverse("signup_sent")
        assert len(mail.outbox) == 1

    def test_the_sign_up_language_is_remembered(self, client: Client) -> None:
        client.post(
            reverse("signup"),
            {"username": "dora", "email": "d@example.com", "password1": PASSWORD, "password2": PASSWORD},
            HTTP_ACCEPT_LANGUAGE="es",
        )
        assert User.objects.get(username="dora").language == "es"


@pytest.mark.django_db
class TestLogin:
    def make_user(self) -> User:
        return User.objects.create_user("erin", "erin@example.com", PASSWORD)

    def test_wrong_password_is_refused(self, client: Client) -> None:
        self.make_user()
        response = client.post(reverse("login"), {"username": "erin", "password": "wrong"})
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()

    def test_login_attempts_are_limited(self, client: Client, settings: Any) -> None:
        self.make_user()
        settings.SMMPANEL_LOGIN_BURST = 3
        settings.SMMPANEL_LOGIN_PER_MINUTE = 1
        codes = [
            client.post(reverse("login"), {"username": "erin", "password": "wrong"}).status_code
            for _ in range(5)
        ]
        assert codes[:3] == [200, 200, 200]
        assert codes[3:] == [429, 429]
        # Even the right password waits: the limit is what stops guessing.
        response = client.post(reverse("login"), {"username": "erin", "password": PASSWORD})
        assert response.status_code == 429
        assert "Too many sign-in attempts" in response.content.decode()
        assert "_auth_user_id" not in client.session

    def test_pages_behind_login_redirect_there(self, client: Client) -> None:
        response = client.get(reverse("settings"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    def test_logout_needs_a_post(self, client: Client) -> None:
        client.force_login(self.make_user())
        assert client.get(reverse("logout")).status_code == 405
        assert client.post(reverse("logout")).status_code == 302
        assert "_auth_user_id" not in client.session

    def test_the_users_language_is_used_after_login(self, client: Client) -> None:
        user = self.make_user()
        user.language = "es"
        user.save()
        response = client.post(reverse("login"), {"username": "erin", "password": PASSWORD})
        assert response.cookies["django_language"].value == "es"
        response = client.get(reverse("settings"))
        assert response["Content-Language"] == "es"
        assert '<html lang="es">' in response.content.decode()


@pytest.mark.django_db
class TestPasswordReset:
    def test_a_reset_link_sets_a_new_password(self, client: Client) -> None:
        User.objects.create_user("fay", "fay@example.com", PASSWORD)
        response = client.post(reverse("password_reset"), {"email": "fay@example.com"})
        assert response["Location"] == reverse("password_reset_done")
        match = re.search(r"https?://\S+/password/reset/\S+/\S+/", mail.outbox[0].body)
        assert match
        response = client.get(match.group(0), follow=True)
        assert "Choose a new password" in response.content.decode()
        form_url = response.redirect_chain[-1][0]
        new = "Another-harbour-72"
        response = client.post(form_url, {"new_password1": new, "new_password2": new})
        assert response["Location"] == reverse("password_reset_complete")
        assert client.login(username="fay", password="Another-harbour-72")

    def test_an_unknown_address_gets_the_same_answer_and_no_mail(self, client: Client) -> None:
        response = client.post(reverse("password_reset"), {"email": "ghost@example.com"})
        assert response["Location"] == reverse("password_reset_done")
        assert mail.outbox == []

    def test_a_used_link_is_refused(self, client: Client) -> None:
        response = client.get(reverse("password_reset_confirm", args=["MQ", "set-password"]))
        assert "This link is not valid" in response.content.decode()


@pytest.mark.django_db
class TestPreferences:
    def test_language_and_time_zone_are_saved(self, client: Client) -> None:
        user = User.objects.create_user("gus", "gus@example.com", PASSWORD)
        client.force_login(user)
        response = client.post(reverse("settings"), {"language": "es", "timezone": "America/Bogota"})
        assert response.status_code == 302
        user.refresh_from_db()
        assert (user.language, user.timezone) == ("es", "America/Bogota")
        assert client.get(reverse("settings"))["Content-Language"] == "es"

    def test_an_unknown_time_zone_or_language_is_refused(self, client: Client) -> None:
        user = User.objects.create_user("gus", "gus@example.com", PASSWORD)
        client.force_login(user)
        response = client.post(reverse("settings"), {"language": "xx", "timezone": "Mars/Olympus"})
        assert response.status_code == 200
        form = response.context["form"]
        assert set(form.errors) == {"language", "timezone"}
        user.refresh_from_db()
        assert (user.language, user.timezone) == ("", "UTC")

    def test_the_password_can_be_changed(self, client: Client) -> None:
        user = User.objects.create_user("gus", "gus@example.com", PASSWORD)
        client.force_login(user)
        response = client.post(
            reverse("password_change"),
            {"old_password": "wrong", "new_password1": "New-harbour-73", "new_password2": "New-harbour-73"},
        )
        assert "Your old password was entered incorrectly" in response.content.decode()
        response = client.post(
            reverse("password_change"),
            {"old_password": PASSWORD, "new_password1": "New-harbour-73", "new_password2": "New-harbour-73"},
        )
        assert response["Location"] == reverse("settings")
        user.refresh_from_db()
        assert user.check_password("New-harbour-73")


@pytest.mark.django_db
class TestLanguageSwitch:
    def test_anyone_can_switch_and_go_back_to_the_page(self, client: Client) -> None:
        response = client.post(reverse("set_language"), {"language": "es", "next": "/signup/"})
        assert response.status_code == 302
        assert response["Location"] == "/signup/"
        assert client.get("/signup/")["Content-Language"] == "es"

    def test_a_signed_in_customer_keeps_the_choice(self, client: Client) -> None:
        user = User.objects.create_user("hal", "hal@example.com", PASSWORD)
        client.force_login(user)
        client.post(reverse("set_language"), {"language": "es", "next": "/"})
        user.refresh_from_db()
        assert user.language == "es"

    def test_an_unknown_language_changes_nothing(self, client: Client) -> None:
        user = User.objects.create_user("hal", "hal@example.com", PASSWORD)
        client.force_login(user)
        client.post(reverse("set_language"), {"language": "xx", "next": "/"})
        user.refresh_from_db()
        assert user.language == ""

    def test_next_cannot_leave_the_site(self, client: Client) -> None:
        response = client.post(reverse("set_language"), {"language": "es", "next": "https://evil.example/"})
        assert response["Location"] == "/"


@pytest.mark.django_db
def test_every_page_sends_a_strict_content_security_policy(client: Client) -> None:
    for url in ("/", "/signup/", "/login/", "/password/reset/"):
        response = client.get(url)
        assert response.status_code == 200
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "style-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        page = response.content.decode()
        assert "<script>" not in page  # every script is a file: nothing inline
        assert "style=" not in page
        assert "https://" not in page.split("</head>")[0]  # no CDN: assets come from the panel


@pytest.mark.django_db
class TestClientAddressBehindProxies:
    def attempts(self, forwarded_for: list[str]) -> list[int]:
        User.objects.get_or_create(username="ivy", email="ivy@example.com")
        return [
            Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=hops)
            .post(reverse("login"), {"username": f"user{n}", "password": "wrong"})
            .status_code
            for n, hops in enumerate(forwarded_for)
        ]

    def test_without_trusted_proxies_the_header_is_ignored(self, settings: Any) -> None:
        settings.SMMPANEL_LOGIN_BURST = 2
        settings.SMMPANEL_LOGIN_PER_MINUTE = 1
        assert self.attempts(["10.0.0.1", "10.0.0.2", "10.0.0.3"]) == [200, 200, 429]

    def test_behind_one_proxy_each_client_has_its_own_limit(self, settings: Any) -> None:
        settings.SMMPANEL_LOGIN_BURST = 2
        settings.SMMPANEL_LOGIN_PER_MINUTE = 1
        settings.SMMPANEL_TRUSTED_PROXIES = 1
        assert self.attempts(["10.0.0.1", "10.0.0.2", "10.0.0.3"]) == [200, 200, 200]

    def test_a_client_cannot_forge_its_address_through_the_header(self, settings: Any) -> None:
        settings.SMMPANEL_LOGIN_BURST = 2
        settings.SMMPANEL_LOGIN_PER_MINUTE = 1
        settings.SMMPANEL_TRUSTED_PROXIES = 1
        # The client writes a new address each time; the proxy appends the real one (10.9.9.9).
        forged = [f"192.0.2.{n}, 10.9.9.9" for n in range(3)]
        assert self.attempts(forged) == [200, 200, 429]


@pytest.mark.django_db
class TestMailFloods:
    """Forms that send mail are limited per client address and per recipient."""

    def test_password_resets_to_one_address_are_limited(self, settings: Any) -> None:
        User.objects.create_user("jo", "jo@example.com", PASSWORD)
        settings.SMMPANEL_MAIL_BURST = 2
        settings.SMMPANEL_MAIL_PER_MINUTE = 1
        codes = [
            Client(REMOTE_ADDR=f"10.1.0.{n}").post(reverse("password_reset"), {"email": "jo@example.com"})
            for n in range(4)
        ]
        assert [response.status_code for response in codes] == [302, 302, 429, 429]
        assert "This form was sent too often" in codes[-1].content.decode()
        assert len(mail.outbox) == 2

    def test_new_links_and_sign_ups_from_one_address_are_limited(self, client: Client, settings: Any) -> None:
        settings.SMMPANEL_MAIL_BURST = 2
        settings.SMMPANEL_MAIL_PER_MINUTE = 1
        assert sign_up(client, username="k1", email="k1@example.com").status_code == 302
        assert client.post(reverse("signup_resend"), {"email": "k1@example.com"}).status_code == 302
        response = sign_up(client, username="k2", email="k2@example.com")
        assert response.status_code == 429
        assert not User.objects.filter(username="k2").exists()
        assert len(mail.outbox) == 2

    @pytest.mark.parametrize("known", [False, True])
    def test_sign_ups_from_one_address_are_limited_whether_or_not_the_email_is_known(
        self, client: Client, settings: Any, known: bool
    ) -> None:
        User.objects.create_user("owner", "owner@example.com", PASSWORD)
        settings.SMMPANEL_MAIL_BURST = 3
        settings.SMMPANEL_MAIL_PER_MINUTE = 1
        emails = ["owner@example.com" if known else f"new{n}@example.com" for n in range(5)]
        codes = [sign_up(client, username=f"m{n}", email=email).status_code for n, email in enumerate(emails)]
        assert codes == [302, 302, 302, 429, 429]
        assert len(mail.outbox) == 3
        assert User.objects.filter(username__startswith="m").count() == (0 if known else 3)

    def test_sign_ups_with_one_known_email_are_limited_from_any_address(self, settings: Any) -> None:
        User.objects.create_user("owner", "owner@example.com", PASSWORD)
        settings.SMMPANEL_MAIL_BURST = 2
        settings.SMMPANEL_MAIL_PER_MINUTE = 1
        codes = [
            sign_up(
                Client(REMOTE_ADDR=f"10.2.0.{n}"), username=f"m{n}", email="owner@example.com"
            ).status_code
            for n in range(4)
        ]
        assert codes == [302, 302, 429, 429]
        assert len(mail.outbox) == 2

    def test_looking_at_the_forms_or_making_mistakes_is_not_counted(
        self, client: Client, settings: Any
    ) -> None:
        settings.SMMPANEL_MAIL_BURST = 1
        settings.SMMPANEL_MAIL_PER_MINUTE = 1
        for _ in range(3):
            assert client.get(reverse("password_reset")).status_code == 200
            assert client.get(reverse("signup")).status_code == 200
            assert client.post(reverse("password_reset"), {"email": "not an address"}).status_code == 200
            assert sign_up(client, email="").status_code == 200
        assert sign_up(client).status_code == 302
