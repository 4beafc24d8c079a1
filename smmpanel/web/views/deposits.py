"""The views of paying through a gateway that are not the add-funds page itself: the live preview
(web/paying.py computes it) and the page that plays the demo gateway (payments/gateways/demo.py)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from smmpanel.ledger.money import EXACT, amount_text, to_money
from smmpanel.payments import gateways
from smmpanel.payments.gateways import demo as demo_gateway
from smmpanel.payments.models import DemoInvoice, Payment
from smmpanel.web.paying import customer_of, preview_for


@login_required
@require_POST
def preview(request: HttpRequest) -> HttpResponse:
    """The live preview under the amount (htmx), read-only: nothing is written."""
    shown = preview_for(request.POST.get("pay-method", ""), request.POST.get("pay-amount", ""))
    return render(request, "web/funds/_preview.html", {"preview": shown})


def _invoice(request: HttpRequest, ref: str) -> tuple[DemoInvoice, Payment]:
    """The demo invoice and its deposit, the signed-in customer's own, under `smmpanel demo` only."""
    if gateways.usable(demo_gateway.NAME) is None or not isinstance(
        gateways.GATEWAYS.get(demo_gateway.NAME), demo_gateway.DemoGateway
    ):
        raise Http404
    invoice = DemoInvoice.objects.filter(ref=ref).first()
    payment = Payment.objects.filter(
        method=demo_gateway.NAME, gateway_ref=ref, user=customer_of(request)
    ).first()
    if invoice is None or payment is None:
        raise Http404
    return invoice, payment


@login_required
@require_http_methods(["GET", "POST"])
def demo_page(request: HttpRequest, ref: str) -> HttpResponse:
    """The demo gateway's checkout: Pay, Underpay (half) or Fail, then its webhook to the panel."""
    invoice, payment = _invoice(request, ref)
    if request.method == "POST":
        if demo_gateway.choose(ref, request.POST.get("choice", "")):
            demo_gateway.notify(ref)  # over HTTP, outside any transaction, as a real gateway
        return redirect(invoice.back_url)
    context = {
        "invoice": invoice,
        "payment": payment,
        "half": to_money(invoice.amount / 2),
        "amount_shown": amount_text(invoice.amount, EXACT),
    }
    return render(request, "web/funds/demo_gateway.html", context)
