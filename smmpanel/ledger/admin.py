from django.contrib import admin

from smmpanel.admin_base import ReadOnlyAdmin
from smmpanel.ledger.models import LedgerEntry


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    """Read-only: entries are written by the ledger service, never edited."""

    list_display = ("id", "created_at", "user", "kind", "amount", "balance_after", "reference")
    list_filter = ("kind",)
    search_fields = ("user__username", "reference")
