"""The reseller API's per-key rate limit, in the panel's shared throttle (smmpanel/throttle.py)."""

from django.conf import settings

from smmpanel.throttle import limiter


def within_limit(key_hash: str) -> bool:
    """One more request with this API key (its hash), or refuse: SMMPANEL_API_RATE a second after
    a burst of SMMPANEL_API_BURST; a rate of 0 is no limit."""
    rate = limiter(settings.SMMPANEL_API_RATE, settings.SMMPANEL_API_BURST, settings.SMMPANEL_REDIS_URL)
    return rate.allow(key_hash)
