"""The panel's one throttle: GCRA, a token bucket kept as one timestamp per key.

Used by the reseller API (per key: `api/ratelimit.py`), by every sign-in form (the site's, the
console's and the admin's: `LimitedAuthenticationForm` below) and by the website's mail limits
(`web/limits.py`). Each key may send `burst` requests at once, then `rate` per second.
The state lives in this process by default (exact with one web process); with
SMMPANEL_REDIS_URL set it lives in Redis and is shared by every web process. Redis is never a
source of truth: if it is unreachable, requests are let through and the failure is logged.
"""

import logging
import threading
import time
from functools import lru_cache
from typing import Any, Protocol

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

log = logging.getLogger("smmpanel.throttle")


class Limiter(Protocol):
    def allow(self, key: str) -> bool: ...


class Unlimited:
    def allow(self, key: str) -> bool:
        return True


class MemoryLimiter:
    MAX_KEYS = 100_000

    def __init__(self, rate: float, burst: int) -> None:
        self.interval = 1.0 / rate
        self.tolerance = self.interval * burst
        self._tat: dict[str, float] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            tat = max(self._tat.get(key, now), now) + self.interval
            if tat - now > self.tolerance + 1e-9:  # float sums of the interval drift
                return False
            self._tat[key] = tat
            if len(self._tat) > self.MAX_KEYS:
                self._tat = {k: v for k, v in self._tat.items() if v > now}
            return True


# Atomic in Redis; uses the server's clock, so web hosts need not agree on time.
_GCRA = """
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
tat = tat + interval
if tat - now > tolerance then return 0 end
redis.call('SET', KEYS[1], tat, 'PX', math.ceil((tat - now) / 1000) + 1)
return 1
"""


class RedisLimiter:
    def __init__(self, url: str, rate: float, burst: int) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.script = self.client.register_script(_GCRA)
        self.interval = int(1_000_000 / rate)
        self.tolerance = self.interval * burst
        self._last_warning = 0.0

    def allow(self, key: str) -> bool:
        import redis

        try:
            return bool(self.script(keys=[f"smmpanel:ratelimit:{key}"], args=[self.interval, self.tolerance]))
        except redis.RedisError as exc:
            if time.monotonic() - self._last_warning > 60:
                self._last_warning = time.monotonic()
                log.warning("rate limit store unreachable, letting requests through: %s", exc)
            return True


# Room for every limit the panel keeps (the API's, sign-in per address and per address and
# username, mail): an evicted in-memory limiter would forget its counts.
@lru_cache(maxsize=16)
def limiter(rate: float, burst: int, redis_url: str) -> Limiter:
    """The limiter for these settings, one per process."""
    if rate <= 0:
        return Unlimited()
    if redis_url:
        return RedisLimiter(redis_url, rate, max(burst, 1))
    return MemoryLimiter(rate, max(burst, 1))


def per_minute(count: float, burst: int) -> Limiter:
    """The limiter of `count` requests a minute after a burst of `burst`, in the configured store."""
    return limiter(count / 60, burst, settings.SMMPANEL_REDIS_URL)


def allow_all(*counts: tuple[Limiter, str]) -> bool:
    """One more request under each (limiter, key), or refuse. Every key is counted, even after
    one refuses: a client over one limit keeps spending its allowance under the others."""
    allowed = [store.allow(key) for store, key in counts]
    return all(allowed)


# Sign-in attempts, shared by the site, the console and the admin.

TOO_MANY_SIGN_INS = "too_many_sign_ins"


def client_address(request: HttpRequest) -> str:
    """The customer's address; behind N trusted proxies, the one the outermost proxy saw."""
    proxies = settings.SMMPANEL_TRUSTED_PROXIES
    if proxies > 0:
        header = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
        hops = [hop.strip() for hop in header.split(",") if hop.strip()]
        # Each proxy appends the address it received from: the last N entries are the proxies' own
        # findings, anything before them the client could have written itself.
        if len(hops) >= proxies:
            return hops[-proxies]
    return str(request.META.get("REMOTE_ADDR", ""))


def login_allowed(request: HttpRequest, username: str | None = None) -> bool:
    """One more sign-in attempt from this address, and from it for this username (the form's, or
    `username` for a step that has none, such as the console's code step), or refuse.

    Nothing is counted per username alone: failures from one address must not lock the owner
    out at another. The (address, username) limit is the tighter one, so a router shared by
    many customers is not closed by one of them mistyping."""
    address = client_address(request)
    username = (request.POST.get("username", "") if username is None else username).strip().lower()[:150]
    per_address = per_minute(settings.SMMPANEL_LOGIN_PER_MINUTE, settings.SMMPANEL_LOGIN_BURST)
    per_user = per_minute(settings.SMMPANEL_LOGIN_USER_PER_MINUTE, settings.SMMPANEL_LOGIN_USER_BURST)
    return allow_all(
        (per_address, f"login:address:{address}"),
        # An address never contains a comma (X-Forwarded-For is split on it): the key is unambiguous.
        (per_user, f"login:address-user:{address},{username}"),
    )


class LimitedAuthenticationForm(AuthenticationForm):
    """Counts the attempt before the password is checked, and refuses it over the limit. The site's
    and the console's sign-in forms both derive from it, so one limit covers every sign-in."""

    def clean(self) -> dict[str, Any]:
        if self.request is None or not login_allowed(self.request):
            raise forms.ValidationError(
                _("Too many sign-in attempts. Wait a minute and try again."), code=TOO_MANY_SIGN_INS
            )
        return super().clean()


def sign_in_status(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """429 for a sign-in page whose form the limit refused (clients and monitoring see it)."""
    context = getattr(response, "context_data", None) or {}
    form = context.get("form")
    if isinstance(form, LimitedAuthenticationForm) and form.has_error(NON_FIELD_ERRORS, TOO_MANY_SIGN_INS):
        log.warning("sign-in attempts limited for %s at %s", client_address(request), request.path)
        response.status_code = 429
    return response
