from django.contrib import admin

from smmpanel.admin_base import ReadOnlyAdmin
from smmpanel.providers.models import UpstreamCall


@admin.register(UpstreamCall)
class UpstreamCallAdmin(ReadOnlyAdmin):
    """The record of every call to a provider: evidence, so the console only reads it."""

    list_display = ("created_at", "provider", "action", "outcome", "http_status", "latency_ms", "order")
    list_filter = ("provider", "action", "outcome", "created_at")
    list_select_related = ("provider",)
    # `__exact` on the id compares it as text: a search for "abc" finds nothing instead of failing.
    search_fields = ("order__id__exact", "=order__provider_order_id")
    search_help_text = "Our order id, or the provider's."
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    raw_id_fields = ("order",)
