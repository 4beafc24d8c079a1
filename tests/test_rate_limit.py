"""The per-key rate limit (HTTP 429 with a JSON error), in memory and in Redis."""

import uuid

import pytest
import redis

from smmpanel.throttle import MemoryLimiter, RedisLimiter, Unlimited, allow_all, limiter

REDIS_URL = "redis://127.0.0.1:6379/15"


def test_a_burst_then_the_steady_rate():
    bucket = MemoryLimiter(rate=20, burst=100)
    assert all(bucket.allow("k", now=0.0) for _ in range(100))
    assert not bucket.allow("k", now=0.0)
    assert not bucket.allow("k", now=0.049)
    assert bucket.allow("k", now=0.051)  # one more every 1/20 s
    assert not bucket.allow("k", now=0.051)
    assert all(bucket.allow("k", now=10.0) for _ in range(100))  # refilled after a pause


def test_keys_are_counted_apart():
    bucket = MemoryLimiter(rate=1, burst=1)
    assert bucket.allow("a", now=0.0)
    assert not bucket.allow("a", now=0.0)
    assert bucket.allow("b", now=0.0)


def test_several_limits_count_every_key_even_after_one_refuses():
    tight, loose = MemoryLimiter(rate=0.001, burst=1), MemoryLimiter(rate=0.001, burst=3)
    assert allow_all((tight, "address"), (loose, "address,alice"))
    assert not allow_all((tight, "address"), (loose, "address,alice"))  # refused by the tight one,
    assert loose.allow("address,alice")  # yet counted by the loose one: its third and last
    assert not loose.allow("address,alice")


def test_zero_rate_means_no_limit():
    assert isinstance(limiter(0, 100, ""), Unlimited)


@pytest.fixture
def strict(settings):
    settings.SMMPANEL_API_RATE = 0.01  # one request per 100 s after the burst
    settings.SMMPANEL_API_BURST = 3


def test_over_the_limit_answers_429_with_a_json_error(api, alice, bob, strict):
    for _ in range(3):
        assert "balance" in api.post("v2", key=alice.key, action="balance")
    for dialect in ("v2", "v1"):
        response = api.client.post(f"/api/{dialect}", data={"key": alice.key, "action": "balance"})
        assert response.status_code == 429
        assert response.headers["content-type"] == "application/json"
        assert response.headers["retry-after"] == "1"
        assert response.json() == {"error": "Too many requests"}
    # Another key has its own allowance.
    assert "balance" in api.post("v2", key=bob.key, action="balance")


def test_the_limit_counts_the_key_however_it_is_sent(api, alice, strict):
    api.client.post("/api/v2", data={"key": alice.key, "action": "balance"})
    api.client.post("/api/v2", data={"action": "balance"}, headers={"X-Api-Key": alice.key})
    api.client.post("/api/v2", data={"action": "balance"}, headers={"Authorization": f"Bearer {alice.key}"})
    assert api.client.get("/api/v2", params={"key": alice.key, "action": "balance"}).status_code == 429


@pytest.fixture
def redis_store():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:  # pragma: no cover - CI starts Redis
        pytest.fail(f"Redis is not answering at {REDIS_URL}: {exc}")
    # No flushdb afterwards: the SQLite and PostgreSQL suites may run at once against this
    # Redis. Every test uses fresh random keys, and the limiter's keys expire by themselves.
    return client


def test_redis_limiter_allows_the_burst_then_refuses(redis_store):
    key = uuid.uuid4().hex
    bucket = RedisLimiter(REDIS_URL, rate=0.01, burst=5)
    assert [bucket.allow(key) for _ in range(7)] == [True] * 5 + [False] * 2
    assert bucket.allow(uuid.uuid4().hex)
    ttl = redis_store.pttl(f"smmpanel:ratelimit:{key}")
    assert 0 < ttl <= 500_000 + 1  # the state expires on its own


def test_redis_limiter_is_shared_between_processes(redis_store):
    key = uuid.uuid4().hex
    one, other = RedisLimiter(REDIS_URL, 0.01, 2), RedisLimiter(REDIS_URL, 0.01, 2)
    assert one.allow(key) and other.allow(key)
    assert not one.allow(key) and not other.allow(key)


def test_an_unreachable_redis_lets_requests_through(caplog):
    bucket = RedisLimiter("redis://127.0.0.1:1/0", rate=0.01, burst=1)
    assert bucket.allow("k") and bucket.allow("k")
    assert "rate limit store unreachable" in caplog.text


def test_the_api_uses_redis_when_configured(api, alice, settings, redis_store):
    settings.SMMPANEL_API_RATE = 0.01
    settings.SMMPANEL_API_BURST = 2
    settings.SMMPANEL_REDIS_URL = REDIS_URL
    codes = [
        api.client.post("/api/v2", data={"key": alice.key, "action": "balance"}).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    assert redis_store.keys("smmpanel:ratelimit:*")
