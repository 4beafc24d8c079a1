"""Paying through a gateway on the customer's site, below its views: the ways to pay listed on
the add-funds page, the live "you pay X, your balance gets Y" preview, starting a deposit (then off
to the gateway's page) and a deposit's live state. The views (web/views/funds.py, deposits.py) call
these; a bank transfer keeps its own form and page."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from smmpanel.accounts.models import User
from smmpanel.ledger.money import ZERO, normalised, to_money
from smmpanel.payments import deposits, gateways, rules
from smmpanel.payments.gateways import base
from smmpanel.payments.gateways import demo as demo_gateway
from smmpanel.payments.models import Payment
from smmpanel.payments.services import PaymentError
from smmpanel.web.forms.funds import GatewayDepositForm

GATEWAY_INSTRUCTIONS = gettext_lazy(
    "You pay on the payment service's page. Your balance is credited as soon as the service "
    "confirms the payment: this panel checks with it, you have nothing to send us."
)
DEMO_INSTRUCTIONS = gettext_lazy(
    "A demo: no money moves. On the next page you choose whether the payment succeeds, is half "
    "paid or fails, and you see your balance follow."
)
POLL_SECONDS = 3  # how often an open deposit's page asks for its state


@dataclass(frozen=True)
class Option:
    """One way to pay, as the add-funds page shows it (in the reader's language)."""

    name: str
    title: str
    instructions: str
    demo: bool
    minimum: Decimal | None
    maximum: Decimal | None
    rule: base.Rule

    @property
    def fee_percent(self) -> str:
        return percent_text(self.rule.fee_percent)

    @property
    def bonus_percent(self) -> str:
        return percent_text(self.rule.bonus_percent)


def percent_text(value: Decimal) -> str:
    """A percentage as the reader writes it, without trailing zeros: 2.5 ("2,5" in Spanish), 10."""
    return formats.number_format(Decimal(normalised(value)), use_l10n=True)


def _in_language(texts: dict[str, str] | object) -> str:
    """The operator's text in the reader's language, else in the site's language, else ""."""
    if not isinstance(texts, dict):
        return ""
    language = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return str(texts.get(language) or texts.get(settings.LANGUAGE_CODE.split("-")[0]) or "").strip()


def title_of(gateway: base.Gateway, config: base.Config | None) -> str:
    """The name the customer sees: the operator's (in the reader's language) or the gateway's."""
    return _in_language(dict(config.names) if config else {}) or str(gateway.label)


def option(gateway: base.Gateway, config: base.Config) -> Option:
    default = DEMO_INSTRUCTIONS if gateway.name == demo_gateway.NAME else GATEWAY_INSTRUCTIONS
    return Option(
        name=gateway.name,
        title=title_of(gateway, config),
        instructions=_in_language(dict(config.instructions)) or str(default),
        demo=gateway.name == demo_gateway.NAME,
        minimum=config.min_amount,
        maximum=config.max_amount,
        rule=config.rule,
    )


def options() -> list[Option]:
    """The ways to pay through a gateway now (a bank transfer has its own form)."""
    return [option(gateway, config) for gateway, config in gateways.all_usable() if not gateway.manual]


def allow_checkouts(response: HttpResponse) -> HttpResponse:
    """Let the add-funds page's form lead to a gateway's checkout page on another site.

    The site's policy (settings.CONTENT_SECURITY_POLICY) has form-action 'self', and browsers
    apply form-action to the redirects that follow a form's submission: the redirect to
    Cryptomus's, NOWPayments' or Stripe's checkout after "Continue to payment" would be blocked,
    and the customer left on the add-funds page. So this page alone also allows any https site
    (a checkout's address is only known once the gateway made the invoice) and the origin of
    each usable gateway's base URL (a staging gateway or a test's fake may answer over http)."""
    sources = {"https:"}
    for gateway, config in gateways.all_usable():
        parts = urlsplit(config.base_url)
        if not gateway.manual and parts.scheme in ("http", "https") and parts.netloc:
            sources.add(f"{parts.scheme}://{parts.netloc}")
    setattr(response, "_csp_update", {"form-action": sorted(sources)})  # noqa: B010  (django-csp reads it)
    return response


def customer_of(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@dataclass(frozen=True)
class Preview:
    """What a deposit of `amount` through one gateway costs and adds, or why it cannot be made."""

    amount: Decimal | None = None
    bonus: Decimal = ZERO
    fee: Decimal = ZERO
    gets: Decimal | None = None
    error: str = ""


def preview_for(name: str, typed: str) -> Preview:
    found = gateways.usable(name) if name else None
    if found is None or found[0].manual:
        return Preview(error=_("Choose a way to pay."))
    form = GatewayDepositForm({"method": name, "amount": typed}, choices=[name])
    if not typed.strip():
        return Preview()
    if not form.is_valid():
        return Preview(error=" ".join(str(e) for e in form.errors.get("amount", [])))
    config = found[1]
    amount = form.cleaned_data["amount"]
    try:
        amount = deposits.check_limits(config, amount)
    except PaymentError as exc:
        return Preview(error=exc.message)
    bonus, fee = rules.bonus(config.rule, amount), rules.fee(config.rule, amount)
    return Preview(amount, bonus, fee, rules.net(config.rule, amount))


def _absolute(request: HttpRequest, path: str) -> str:
    """An address the gateway can reach: SMMPANEL_SITE_URL when set, else the request's host."""
    if settings.SMMPANEL_SITE_URL:
        return settings.SMMPANEL_SITE_URL + path
    return request.build_absolute_uri(path)


def urls_for(request: HttpRequest, name: str) -> Callable[[Payment], base.Urls]:
    def urls(payment: Payment) -> base.Urls:
        return base.Urls(
            back=_absolute(request, reverse("payment", args=[payment.pk])),
            webhook=_absolute(request, reverse("payment_webhook", args=[name])),
        )

    return urls


def pay(request: HttpRequest, choices: list[Option]) -> tuple[GatewayDepositForm, HttpResponse | None]:
    """The add-funds page's gateway form, posted: off to the gateway's page, or the form with why not."""
    form = GatewayDepositForm(request.POST, choices=[o.name for o in choices], prefix="pay")
    if not form.is_valid():
        return form, None
    name, amount = form.cleaned_data["method"], form.cleaned_data["amount"]
    try:
        payment = deposits.start(customer_of(request), name, amount, urls_for(request, name))
    except PaymentError as exc:
        form.add_error("amount" if exc.code in ("below_minimum", "above_maximum") else None, exc.message)
        return form, None
    return form, redirect(payment.checkout_url)


def live_context(payment: Payment) -> dict[str, object]:
    gateway = gateways.GATEWAYS.get(payment.method)
    config = gateways.config_for(payment.method)
    title = title_of(gateway, config) if gateway else payment.get_method_display()
    is_open = payment.status in deposits.OPEN
    return {
        "payment": payment,
        "gateway_title": title,
        "demo": payment.method == demo_gateway.NAME,
        "open": is_open,
        "poll_seconds": POLL_SECONDS,
        "net": to_money((payment.credited or ZERO) + payment.bonus - payment.fee),
    }


def gateway_payment(request: HttpRequest, payment: Payment) -> HttpResponse:
    """A gateway deposit's page; htmx asks for its live part every few seconds while it is open,
    and the top bar's balance with it (out of band), so a credit shows there too."""
    context = {"nav": "funds", **live_context(payment)}
    if request.headers.get("HX-Request") == "true":
        response = render(request, "web/funds/_deposit_live.html", {**context, "live": True})
    else:
        response = render(request, "web/funds/deposit.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response
