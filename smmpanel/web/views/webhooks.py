"""/payments/<gateway>/webhook: where gateways post. The only CSRF-exempt view of the site: a
gateway has no session, and what it posts is checked by its signature, then never trusted further
(smmpanel/payments/webhooks.py asks the gateway again before money moves)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from smmpanel.payments import webhooks
from smmpanel.payments.gateways.base import Delivery
from smmpanel.throttle import client_address, per_minute


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, gateway: str) -> HttpResponse:
    address = client_address(request)
    limiter = per_minute(settings.SMMPANEL_WEBHOOK_PER_MINUTE, settings.SMMPANEL_WEBHOOK_BURST)
    if not limiter.allow(f"webhook:{address}"):
        return HttpResponse("too many requests\n", status=429, content_type="text/plain")
    try:
        length = int(request.headers.get("content-length") or 0)
    except ValueError:
        length = 0
    if length > settings.SMMPANEL_WEBHOOK_MAX_BODY:
        return HttpResponse("body too large\n", status=413, content_type="text/plain")
    body = request.read(settings.SMMPANEL_WEBHOOK_MAX_BODY + 1)
    if len(body) > settings.SMMPANEL_WEBHOOK_MAX_BODY:
        return HttpResponse("body too large\n", status=413, content_type="text/plain")
    headers = {name.lower(): value for name, value in request.headers.items()}
    answer = webhooks.receive(gateway, Delivery(body=body, headers=headers, address=address))
    return HttpResponse(f"{answer.text}\n", status=answer.status, content_type="text/plain")
