"""The demo catalogue and customer, created once by `smmpanel seed-demo`."""

from decimal import Decimal

from django.db import transaction

from smmpanel.accounts.models import ApiKey, User
from smmpanel.catalog.models import Category, Provider, Service
from smmpanel.catalog.types import ServiceType
from smmpanel.ledger.accounts import open_account

DEMO_CUSTOMER = "demo"
DEMO_BALANCE = Decimal(1000)
SIMULATOR = "Simulator (demo only)"

T = ServiceType
# (category, name, type, rate, min, max, dripfeed, refill, cancel)
# fmt: off
CATALOGUE: list[tuple[str, str, str, str, int, int, bool, bool, bool]] = [
    ("Instagram Followers", "Instagram Followers [Refill 30 days]", T.DEFAULT, "0.90", 50, 10000, True, True, True),
    ("Instagram Followers", "Instagram Followers Starter Pack (1000)", T.PACKAGE, "4.50", 1, 1, False, False, False),
    ("Instagram Comments", "Instagram Custom Comments", T.CUSTOM_COMMENTS, "12.00", 5, 500, False, False, True),
    ("Instagram Comments", "Instagram Custom Comments Package (10)", T.CUSTOM_COMMENTS_PACKAGE, "2.50", 1, 1, False, False, False),
    ("Instagram Comments", "Instagram Comment Likes", T.COMMENT_LIKES, "3.20", 20, 5000, False, False, True),
    ("Instagram Comments", "Instagram Comment Replies", T.COMMENT_REPLIES, "15.00", 5, 200, False, False, False),
    ("Instagram Mentions", "Instagram Mentions", T.MENTIONS, "2.00", 100, 10000, False, False, True),
    ("Instagram Mentions", "Instagram Mentions with Hashtags", T.MENTIONS_WITH_HASHTAGS, "2.40", 100, 10000, False, False, True),
    ("Instagram Mentions", "Instagram Mentions Custom List", T.MENTIONS_CUSTOM_LIST, "3.00", 10, 1000, False, False, False),
    ("Instagram Mentions", "Instagram Mentions from Hashtag", T.MENTIONS_HASHTAG, "2.20", 100, 10000, False, False, True),
    ("Instagram Mentions", "Instagram Mentions from User Followers", T.MENTIONS_USER_FOLLOWERS, "2.20", 100, 10000, False, False, True),
    ("Instagram Mentions", "Instagram Mentions from Media Likers", T.MENTIONS_MEDIA_LIKERS, "2.20", 100, 10000, False, False, True),
    ("Instagram Likes", "Instagram Likes Subscription (auto likes)", T.SUBSCRIPTIONS, "0.60", 50, 5000, False, False, False),
    ("Twitter Polls", "Twitter Poll Votes", T.POLL, "1.80", 100, 50000, False, False, True),
    ("Telegram", "Telegram Group Invites", T.INVITES_FROM_GROUPS, "5.00", 100, 20000, False, True, True),
    ("Website Traffic", "Google SEO Traffic by Keyword", T.SEO, "0.75", 1000, 100000, False, False, True),
]
# fmt: on


def seed() -> dict[str, int]:
    """Create the catalogue and the demo customer unless they exist; returns service ids by type."""
    with transaction.atomic():
        provider, _ = Provider.objects.get_or_create(
            name=SIMULATOR, defaults={"kind": Provider.Kind.SIMULATED}
        )
        ids: dict[str, int] = {}
        for order, row in enumerate(CATALOGUE):
            category_name, name, type_, rate, min_, max_, drip, refill, cancel = row
            category, _ = Category.objects.get_or_create(name=category_name, defaults={"sort_order": order})
            service, _ = Service.objects.get_or_create(
                name=name,
                defaults=dict(
                    category=category,
                    type=type_,
                    rate=Decimal(rate),
                    min=min_,
                    max=max_,
                    dripfeed=drip,
                    refill=refill,
                    cancel=cancel,
                    provider=provider,
                    sort_order=order,
                    description=f"Demo service, fulfilled by the simulator. {name}.",
                ),
            )
            ids[ServiceType(service.type).label] = service.pk
        if not User.objects.filter(username=DEMO_CUSTOMER).exists():
            # No API key here: `smmpanel demo` issues the one it prints, `seed-demo --json` one per call.
            open_account(DEMO_CUSTOMER, email="demo@example.com", balance=DEMO_BALANCE)
    return ids


def fresh_key(username: str = DEMO_CUSTOMER) -> str:
    _key, raw = ApiKey.issue(User.objects.get(username=username), name="seed-demo")
    return raw
