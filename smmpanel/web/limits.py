"""The website's limits on mail sent on request, counted per client address and per recipient in
the panel's shared throttle (smmpanel/throttle.py, which also limits every sign-in)."""

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from smmpanel.throttle import allow_all, client_address, per_minute

log = logging.getLogger("smmpanel.web")


def mail_allowed(request: HttpRequest) -> bool:
    """One more mail (sign-up, a new link, a password reset) from this address and to this email
    address, or refuse: nobody may flood an inbox through the panel. Forms with mistakes send
    nothing and are not counted."""
    store = per_minute(settings.SMMPANEL_MAIL_PER_MINUTE, settings.SMMPANEL_MAIL_BURST)
    email = request.POST.get("email", "").strip().lower()[:254]
    return allow_all((store, f"mail:address:{client_address(request)}"), (store, f"mail:to:{email}"))


def mail_refused(request: HttpRequest) -> HttpResponse | None:
    """None when one more mail may go (mail_allowed); else the 429 page that asks to wait."""
    if mail_allowed(request):
        return None
    log.warning("mail-sending forms limited for %s", client_address(request))
    return render(request, "web/account/throttled.html", status=429)
