"""The API page (create or rotate the key, shown once) and the public API documentation."""

import re

import pytest
from conftest import Api, Catalogue, Customer
from django.test import Client
from django.urls import reverse

from smmpanel.accounts.models import ApiKey, User, hash_api_key
from smmpanel.catalog.types import ServiceType


@pytest.fixture
def as_alice(client: Client, alice: Customer) -> Client:
    client.force_login(alice.user)
    return client


def page(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


def call(api: Api, dialect: str, **params: str) -> object:
    return api.post(dialect, **params)


# Replacing a working key asks first: the confirming form sends confirm=yes.
CONFIRMED = {"confirm": "yes"}


def shown_key(text: str) -> str:
    found = re.search(r'id="new-api-key">([0-9a-f]+)<', text)
    assert found, "no new key on the page"
    return found.group(1)


def test_the_api_page_shows_the_key_by_prefix_only(as_alice: Client, alice: Customer) -> None:
    response = as_alice.get(reverse("api_page"))
    assert response.status_code == 200
    text = page(response)
    assert alice.key[:8] in text
    assert alice.key not in text
    assert 'id="new-api-key"' not in text
    assert 'id="rotate-key"' in text and "Rotate the key" in text
    assert "http://testserver/api/v2" in text and "http://testserver/api/v1" in text
    assert reverse("api_docs") in text


def test_the_api_pages_need_a_login(client: Client, db: None) -> None:
    assert client.get(reverse("api_page"))["Location"].startswith(reverse("login"))
    response = client.post(reverse("api_new_key"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not ApiKey.objects.exists()


def test_a_new_key_is_only_made_by_post(as_alice: Client, alice: Customer) -> None:
    assert as_alice.get(reverse("api_new_key")).status_code == 405
    assert ApiKey.objects.filter(user=alice.user).count() == 1


def test_rotating_shows_a_new_key_once_and_the_old_one_stops_working(
    as_alice: Client, alice: Customer, api: Api
) -> None:
    assert call(api, "v2", key=alice.key, action="balance")["balance"] == "100.00000"
    response = as_alice.post(reverse("api_new_key"), CONFIRMED)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    new = shown_key(page(response))
    assert new != alice.key
    assert 'data-copy="#new-api-key"' in page(response)

    assert call(api, "v2", key=alice.key, action="balance") == {"error": "Invalid API key"}
    assert call(api, "v2", key=new, action="balance")["balance"] == "100.00000"
    assert call(api, "v1", key=new, action="balance")["status"] == "success"

    # Stored only as a hash, and never shown again.
    assert ApiKey.objects.filter(user=alice.user, is_active=True).get().key_hash == hash_api_key(new)
    assert not ApiKey.objects.filter(key_hash=new).exists()
    assert not ApiKey.objects.filter(prefix=new).exists()
    again = page(as_alice.get(reverse("api_page")))
    assert new not in again and new[:8] in again
    assert new not in str(dict(as_alice.session))


def test_rotating_asks_first_and_a_post_without_the_confirmation_changes_nothing(
    as_alice: Client, alice: Customer, api: Api
) -> None:
    before = list(ApiKey.objects.filter(user=alice.user).values_list("pk", "is_active"))
    for data in ({}, {"confirm": ""}, {"confirm": "no"}):
        response = as_alice.post(reverse("api_new_key"), data)
        assert response.status_code == 200
        text = page(response)
        assert 'id="confirm-rotation"' in text and 'name="confirm" value="yes"' in text
        assert "Rotate your API key?" in text
        assert 'id="new-api-key"' not in text
        assert list(ApiKey.objects.filter(user=alice.user).values_list("pk", "is_active")) == before
    assert call(api, "v2", key=alice.key, action="balance")["balance"] == "100.00000", "the key still works"
    # The page itself does not ask until the customer asks to rotate.
    assert 'id="confirm-rotation"' not in page(as_alice.get(reverse("api_page")))


def test_rotating_twice_leaves_one_active_key(as_alice: Client, alice: Customer) -> None:
    as_alice.post(reverse("api_new_key"), CONFIRMED)
    latest = shown_key(page(as_alice.post(reverse("api_new_key"), CONFIRMED)))
    active = ApiKey.objects.filter(user=alice.user, is_active=True)
    assert [key.key_hash for key in active] == [hash_api_key(latest)]
    assert ApiKey.objects.filter(user=alice.user).count() == 3


def test_a_customer_without_a_key_creates_one(client: Client, api: Api, db: None) -> None:
    user = User.objects.create_user("dora", "dora@example.com", "a-long-password-1")
    client.force_login(user)
    text = page(client.get(reverse("api_page")))
    assert "You have no API key yet." in text and "Create a key" in text and 'id="rotate-key"' in text
    key = shown_key(page(client.post(reverse("api_new_key"))))
    assert call(api, "v2", key=key, action="balance")["balance"] == "0.00000"


def test_a_customer_never_sees_anothers_key(client: Client, alice: Customer, bob: Customer) -> None:
    client.force_login(bob.user)
    text = page(client.get(reverse("api_page")))
    assert alice.key[:8] not in text and bob.key[:8] in text
    text = page(client.post(reverse("api_new_key"), CONFIRMED))
    assert alice.key[:8] not in text
    assert ApiKey.objects.get(user=alice.user).is_active  # bob's rotation leaves alice's key alone


def test_the_page_says_when_the_api_is_off(as_alice: Client, alice: Customer) -> None:
    text = page(as_alice.get(reverse("api_page")))
    assert 'id="api-disabled"' not in text and 'data-enabled="true"' in text
    User.objects.filter(pk=alice.user.pk).update(api_enabled=False)
    text = page(as_alice.get(reverse("api_page")))
    assert 'id="api-disabled"' in text and 'data-enabled="false"' in text


def test_the_api_page_in_spanish(as_alice: Client) -> None:
    response = as_alice.get(reverse("api_page"), HTTP_ACCEPT_LANGUAGE="es")
    assert '<html lang="es">' in page(response)


# The documentation -----------------------------------------------------------------------


def test_the_docs_are_public_and_cover_every_action(client: Client, db: None) -> None:
    response = client.get(reverse("api_docs"))
    assert response.status_code == 200
    text = page(response)
    for action in ("services", "add", "status", "refill", "refill_status", "cancel", "balance"):
        assert f"action={action}</code>" in text, action
    assert "-d orders=23501,1" in text  # several orders' status at once
    assert "http://testserver/api/v2" in text and "http://testserver/api/v1" in text
    # Both dialects' answers, from the dialects' own code.
    assert "{&quot;order&quot;:23501}" in text
    assert "{&quot;status&quot;:&quot;success&quot;,&quot;order&quot;:23501}" in text
    assert "{&quot;balance&quot;:&quot;100.84292&quot;,&quot;currency&quot;:&quot;USD&quot;}" in text
    assert "{&quot;status&quot;:&quot;success&quot;,&quot;balance&quot;:&quot;100.84&quot;" in text


def test_the_docs_show_every_service_type_with_its_parameters(client: Client, db: None) -> None:
    text = page(client.get(reverse("api_docs")))
    sections = dict(
        re.findall(
            r'<article id="type-[a-z_]+" class="service-type" data-type="([a-z_]+)">(.*?)</article>',
            text,
            re.S,
        )
    )
    assert set(sections) == set(ServiceType.values)
    for service_type in ServiceType:
        section = sections[service_type.value]
        assert str(service_type.label) in section
        assert "-d action=add" in section
    assert "<code>answer_number</code>" in sections["poll"] and "answer_number=2" in sections["poll"]
    assert "--data-urlencode comments=$&#x27;Great shot!\\nLove it" in sections["custom_comments"]
    assert "<code>runs</code>" in sections["default"] and "-d runs=4" in sections["default"]
    for name in ("username", "min", "max", "posts", "old_posts", "delay", "expiry"):
        assert f"<code>{name}</code>" in sections["subscriptions"], name
    assert "<code>hashtag</code>" in sections["mentions_hashtag"]
    assert "<code>media</code>" in sections["mentions_media_likers"]


def test_the_docs_examples_use_the_panels_own_service_ids(client: Client, catalogue: Catalogue) -> None:
    text = page(client.get(reverse("api_docs")))
    package = re.search(r'data-type="package">(.*?)</article>', text, re.S)
    assert package and f"-d service={catalogue.package.pk} " in package.group(1)
