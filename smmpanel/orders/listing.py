"""The lists of orders: a customer's (by status or subscription, and its search) and the
operator's (the console's orders list with its filters, and the queues of orders that need a person)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from smmpanel.accounts.models import User
from smmpanel.catalog.fallback import usable_fallback
from smmpanel.catalog.models import Provider, Service
from smmpanel.catalog.offers import parse_id
from smmpanel.orders.models import Order, OrderEvent, Refill

SUBSCRIPTIONS = "subscriptions"  # a filter of its own: every subscription, whatever its status


def _top_level(user_id: int) -> QuerySet[Order]:
    # Drip-feed runs and subscription posts show on their parent's page.
    return Order.objects.filter(user_id=user_id, parent__isnull=True)


def has_subscriptions(user_id: int) -> bool:
    return _top_level(user_id).filter(kind=Order.Kind.SUBSCRIPTION).exists()


def customer_orders(user_id: int, *, status: str = "", search: str = "") -> QuerySet[Order]:
    """The customer's orders, newest first: with `status` (a status, or SUBSCRIPTIONS), and
    whose link holds `search` or whose id it is ("#42" too)."""
    found = _top_level(user_id)
    if status == SUBSCRIPTIONS:
        found = found.filter(kind=Order.Kind.SUBSCRIPTION)
    elif status:
        found = found.filter(status=status)
    if search:
        wanted = Q(link__icontains=search)
        number = parse_id(search.removeprefix("#"))
        if number is not None:
            wanted |= Q(pk=number)
        found = found.filter(wanted)
    return found.select_related("service").order_by("-id")


# The operator's lists (the console): every order of every customer, newest first, and the queues
# of what needs a person, oldest first (the longest waiting on top). Each returns a queryset the
# caller pages; the rows carry what a list shows (customer, service, provider) in the same query.

PARENTS = (Order.Kind.DRIPFEED, Order.Kind.SUBSCRIPTION)


@dataclass(frozen=True)
class OrderQuery:
    """What the operator filters the orders list by; empty values filter nothing."""

    status: str = ""
    provider_state: str = ""
    kind: str = ""
    source: str = ""
    service_id: int | None = None
    provider_id: int | None = None
    customer: str = ""  # a username, or a customer's id
    since: datetime | None = None  # placed at or after
    until: datetime | None = None  # placed before
    search: str = ""  # an order id ("#42" too), a provider's order id, a username or part of a link


def for_operator() -> QuerySet[Order]:
    """Every order with what a row of the operator's lists shows, newest first."""
    return Order.objects.select_related("user", "service", "service__provider", "provider").order_by("-id")


def _going_to(provider_id: int) -> Q:
    # The provider an order was sent to; before sending, its service's (Order.upstream).
    return Q(provider_id=provider_id) | Q(provider__isnull=True, service__provider_id=provider_id)


def _customer(text: str) -> Q:
    wanted = Q(user__username__iexact=text)
    number = parse_id(text.removeprefix("#"))
    return wanted | Q(user_id=number) if number is not None else wanted


def _searched(text: str) -> Q:
    """A link containing `text`, a provider's order id, a customer's name or an order's number.
    The customer is looked up first: a condition on the orders table alone lets PostgreSQL
    combine its indexes (the link's trigrams, provider_order_id, user) instead of reading it all."""
    customers = list(User.objects.filter(username__iexact=text).values_list("pk", flat=True)[:1])
    wanted = Q(link__icontains=text) | Q(provider_order_id=text) | Q(user_id__in=customers)
    number = parse_id(text.removeprefix("#"))
    return wanted | Q(pk=number) if number is not None else wanted


def operator_orders(query: OrderQuery) -> QuerySet[Order]:
    """The orders list of the console: every order that matches `query`, newest first."""
    found = for_operator()
    exact = {
        "status": query.status,
        "provider_state": query.provider_state,
        "kind": query.kind,
        "source": query.source,
        "service_id": query.service_id,
    }
    found = found.filter(**{name: value for name, value in exact.items() if value not in ("", None)})
    if query.provider_id is not None:
        found = found.filter(_going_to(query.provider_id))
    if query.customer.strip():
        found = found.filter(_customer(query.customer.strip()))
    if query.since is not None:
        found = found.filter(created_at__gte=query.since)
    if query.until is not None:
        found = found.filter(created_at__lt=query.until)
    if query.search.strip():
        found = found.filter(_searched(query.search.strip()))
    return found


def in_doubt() -> QuerySet[Order]:
    """Orders whose send may or may not have reached their provider: someone asks it, then resolves."""
    found = for_operator().filter(provider_state=Order.ProviderState.UNKNOWN, status__in=Order.UNFINISHED)
    return found.order_by("id")


def refused() -> QuerySet[Order]:
    """Orders their provider refused and that are held, not finished (resend, move or cancel them)."""
    found = for_operator().filter(provider_state=Order.ProviderState.FAILED, status__in=Order.UNFINISHED)
    return found.order_by("id")


def waiting_for_a_disabled_provider() -> QuerySet[Order]:
    """Orders not sent yet whose provider is disabled, with no usable fallback to go to instead
    (catalog/fallback.py): they wait until it is enabled, another provider takes them, or they
    are canceled. Orders their provider refused are in `refused` already."""
    fallback_ready = Service.objects.filter(usable_fallback()).values("id")
    service_off = Q(provider__isnull=True, service__provider__enabled=False)
    found = for_operator().filter(
        Q(provider__enabled=False) | (service_off & ~Q(service_id__in=fallback_ready)),
        provider_state=Order.ProviderState.QUEUED,
        status__in=Order.UNFINISHED,
        cancel_requested_at__isnull=True,
    )
    return found.exclude(kind=Order.Kind.DRIPFEED).order_by("id")


def cancels_asked() -> QuerySet[Order]:
    """Orders whose customer asked to cancel and that have not ended yet."""
    found = for_operator().filter(cancel_requested_at__isnull=False, status__in=Order.UNFINISHED)
    return found.order_by("id")


def to_fulfil_by_hand() -> QuerySet[Order]:
    """Unfinished orders of services the operator fulfils (a manual provider): theirs to complete."""
    manual = Provider.Kind.MANUAL
    by_hand = Q(provider__kind=manual) | Q(provider__isnull=True, service__provider__kind=manual)
    found = for_operator().filter(by_hand, status__in=Order.UNFINISHED).exclude(kind__in=PARENTS)
    return found.order_by("id")


def refills_waiting() -> QuerySet[Refill]:
    """Refills customers asked for that have not been passed to the provider yet, oldest first."""
    found = Refill.objects.filter(status=Refill.Status.PENDING)
    return found.select_related("user", "order", "order__service").order_by("id")


def stuck(now: datetime) -> QuerySet[Order]:
    """Orders a provider has and works on (sent; Pending, In progress or Processing) that have not
    moved for longer than their service's `stuck_after_minutes` (else SMMPANEL_STUCK_AFTER_MINUTES):
    sent before then, and no progress reported since. Oldest first.

    "Moved" is read from the order's history, not its `updated_at`: every status check bumps that,
    whether or not anything changed, while a `progress` event is written only when the status,
    the start count or the remains did.
    """
    # Services with a threshold of their own are few: name them, and spare the query a join.
    own: dict[int, list[int]] = {}
    for service_id, minutes in Service.objects.exclude(stuck_after_minutes=None).values_list(
        "id", "stuck_after_minutes"
    ):
        own.setdefault(minutes or 0, []).append(service_id)
    groups = {
        ~Q(service_id__in=[pk for ids in own.values() for pk in ids]): settings.SMMPANEL_STUCK_AFTER_MINUTES
    }
    groups |= {Q(service_id__in=ids): minutes for minutes, ids in own.items()}
    quiet = Q(pk__in=[])
    for same_threshold, minutes in groups.items():
        since = now - timedelta(minutes=minutes)
        moved = OrderEvent.objects.filter(
            order_id=OuterRef("pk"), kind=OrderEvent.Kind.PROGRESS, created_at__gt=since
        )
        quiet |= same_threshold & Q(sent_at__lte=since) & ~Q(Exists(moved))
    running = Order.objects.filter(status__in=Order.RUNNING, provider_state=Order.ProviderState.SENT)
    # A drip-feed or subscription parent is followed through its runs and posts: they get stuck.
    upstream = running.exclude(kind__in=(Order.Kind.DRIPFEED, Order.Kind.SUBSCRIPTION))
    return upstream.filter(quiet).order_by("sent_at", "id")
