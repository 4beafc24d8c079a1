"""Every way clients send a request (docs/api.md, Transport), each reaching the same action."""

import json

import pytest

from smmpanel.orders.models import Order


def _balance(response):
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return response.json()


@pytest.mark.parametrize("path", ["/api/v2", "/api/v2/", "/api/v1", "/api/v1/"])
def test_both_paths_with_and_without_trailing_slash(api, alice, path):
    answer = _balance(api.client.post(path, data={"key": alice.key, "action": "balance"}))
    assert answer["balance"].startswith("100.00")


def test_form_post(api, alice):
    assert "balance" in _balance(api.client.post("/api/v2", data={"key": alice.key, "action": "balance"}))


def test_multipart_post(api, alice, catalogue):
    response = api.client.post(
        "/api/v2",
        data={
            "key": alice.key,
            "action": "add",
            "service": str(catalogue.default.pk),
            "link": "https://x.com/ü",
            "quantity": "100",
        },
        files={"unused": ("a.txt", b"ignored")},
    )
    assert response.headers["content-type"] == "application/json"
    order = Order.objects.get(pk=response.json()["order"])
    assert order.link == "https://x.com/ü"


def test_query_string_on_a_post_with_empty_body(api, alice):
    answer = _balance(api.client.post("/api/v2", params={"key": alice.key, "action": "balance"}))
    assert "balance" in answer


def test_plain_get(api, alice):
    assert "balance" in _balance(api.client.get("/api/v2", params={"key": alice.key, "action": "balance"}))


def test_json_body(api, alice, catalogue):
    response = api.client.post(
        "/api/v2",
        json={
            "key": alice.key,
            "action": "add",
            "service": catalogue.default.pk,
            "link": "x.com/a",
            "quantity": 100,
        },
    )
    assert Order.objects.filter(pk=response.json()["order"]).exists()


def test_json_body_with_a_charset(api, alice):
    response = api.client.post(
        "/api/v2",
        content=json.dumps({"key": alice.key, "action": "balance"}),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert "balance" in _balance(response)


def test_body_wins_over_query_string(api, alice):
    response = api.client.post(
        "/api/v2",
        params={"key": alice.key, "action": "services"},
        data={"action": "balance"},
    )
    assert "balance" in _balance(response)


@pytest.mark.parametrize("action", ["BALANCE", " balance ", "Balance\n"])
def test_action_is_case_insensitive_and_trimmed(api, alice, action):
    assert "balance" in api.post("v2", key=alice.key, action=action)


def test_key_in_x_api_key_header(api, alice):
    response = api.client.post("/api/v2", data={"action": "balance"}, headers={"X-Api-Key": alice.key})
    assert "balance" in _balance(response)


def test_key_in_authorization_bearer_header(api, alice):
    response = api.client.post(
        "/api/v2", data={"action": "balance"}, headers={"Authorization": f"Bearer {alice.key}"}
    )
    assert "balance" in _balance(response)


def test_key_parameter_wins_over_header(api, alice, bob):
    response = api.client.post(
        "/api/v2", data={"key": bob.key, "action": "balance"}, headers={"X-Api-Key": alice.key}
    )
    assert _balance(response)["balance"] == "5.00000"


def test_responses_are_compact_utf8_json(api, alice, catalogue):
    catalogue.default.name = "Seguidores ⭐ / Instagram"
    catalogue.default.save()
    response = api.client.post("/api/v2", data={"key": alice.key, "action": "services"})
    assert response.headers["content-type"] == "application/json"
    assert b", " not in response.content and b": " not in response.content
    assert "Seguidores ⭐ / Instagram".encode() in response.content


def test_other_paths_are_the_website_not_the_api(api):
    response = api.client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
