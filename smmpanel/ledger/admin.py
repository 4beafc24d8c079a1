from django.contrib import admin

from smmpanel.ledger.models import LedgerEntry


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """Read-only: entries are written by the ledger service, never edited."""

    list_display = ("id", "created_at", "user", "kind", "amount", "balance_after", "reference")
    list_filter = ("kind",)
    search_fields = ("user__username", "reference")

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
