"""`smmpanel orders`: the operator settles orders in doubt and records manual progress."""

import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from smmpanel.catalog.models import Provider, Service
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.services import mismatches
from smmpanel.orders import transitions
from smmpanel.orders.models import Order
from smmpanel.providers.models import UpstreamCall

P, S = Order.ProviderState, Order.Status


@pytest.fixture
def in_doubt(api, alice, catalogue):
    provider = Provider.objects.create(name="Upstream", url="https://up.example/api/v2")
    Service.objects.filter(pk=catalogue.default.pk).update(provider=provider)
    answer = api.post(
        "v2", key=alice.key, action="add", service=catalogue.default.pk, link="x.com/a", quantity=1000
    )
    now = timezone.now()
    transitions.claim(answer["order"], now)
    transitions.in_doubt(answer["order"], "timed out after 30 s", now)
    UpstreamCall.objects.create(
        provider=provider,
        action="add",
        request={"service": "7"},
        outcome="timeout",
        error="timed out",
        order_id=answer["order"],
        created_at=now,
    )
    return Order.objects.get(pk=answer["order"])


def run(*args, capsys):
    call_command("orders", *args)
    return capsys.readouterr().out


def test_in_doubt_lists_orders_with_their_last_call(in_doubt, capsys):
    rows = json.loads(run("in-doubt", "--json", capsys=capsys))
    assert [row["order"] for row in rows] == [in_doubt.pk]
    assert rows[0]["reason"] == "timed out after 30 s"
    assert rows[0]["last_call"]["outcome"] == "timeout"
    assert f"#{in_doubt.pk} at Upstream" in run("in-doubt", capsys=capsys)


def test_reconcile_as_sent(in_doubt, capsys):
    assert "sent as 777" in run("reconcile", str(in_doubt.pk), "--sent-as", "777", capsys=capsys)
    in_doubt.refresh_from_db()
    assert (in_doubt.provider_state, in_doubt.provider_order_id) == (P.SENT, "777")
    assert in_doubt.next_check_at is not None


def test_reconcile_as_not_sent_refunds(in_doubt, alice, capsys):
    assert "canceled and refunded" in run("reconcile", str(in_doubt.pk), "--not-sent", capsys=capsys)
    in_doubt.refresh_from_db()
    assert (in_doubt.provider_state, in_doubt.status) == (P.FAILED, S.CANCELED)
    assert alice.balance() == Decimal(100)
    assert list(mismatches()) == []


def test_reconcile_to_resend(in_doubt, capsys):
    run("reconcile", str(in_doubt.pk), "--resend", capsys=capsys)
    in_doubt.refresh_from_db()
    assert in_doubt.provider_state == P.QUEUED


def test_reconcile_refuses_an_order_not_in_doubt(in_doubt):
    call_command("orders", "reconcile", str(in_doubt.pk), "--sent-as", "1")
    with pytest.raises(CommandError, match="not in doubt"):
        call_command("orders", "reconcile", str(in_doubt.pk), "--not-sent")
    with pytest.raises(CommandError, match="no order"):
        call_command("orders", "reconcile", "999999", "--not-sent")
    assert not LedgerEntry.objects.filter(kind="refund").exists()


def test_manual_progress(in_doubt, alice, capsys):
    call_command("orders", "reconcile", str(in_doubt.pk), "--sent-as", "m-1")
    out = run(
        "progress",
        str(in_doubt.pk),
        "--status",
        "in_progress",
        "--start-count",
        "50",
        "--remains",
        "600",
        capsys=capsys,
    )
    assert "In progress, remains 600" in out
    with pytest.raises(CommandError, match="needs --remains"):
        call_command("orders", "progress", str(in_doubt.pk), "--status", "partial")
    run("progress", str(in_doubt.pk), "--status", "partial", "--remains", "100", capsys=capsys)
    in_doubt.refresh_from_db()
    assert (in_doubt.status, in_doubt.remains, in_doubt.start_count) == (S.PARTIAL, 100, 50)
    assert LedgerEntry.objects.get(order=in_doubt, kind="refund").amount == Decimal("0.09")
    with pytest.raises(CommandError, match="did not change"):
        call_command("orders", "progress", str(in_doubt.pk), "--status", "completed")
