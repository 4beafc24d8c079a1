from django.contrib import admin

from smmpanel.admin_base import ReadOnly, ReadOnlyAdmin
from smmpanel.orders.models import Order, OrderEvent, Refill


class OrderEventInline(ReadOnly, admin.TabularInline):
    """An order's history: written by orders/ only, read here."""

    model = OrderEvent
    extra = 0
    readonly_fields = ("created_at", "kind", "data", "actor")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "user", "service", "quantity", "charge", "status", "provider_state")
    list_filter = ("status", "provider_state", "kind", "source")
    search_fields = ("=id", "link", "user__username", "provider_order_id")
    inlines = [OrderEventInline]


@admin.register(Refill)
class RefillAdmin(ReadOnlyAdmin):
    list_display = ("id", "order", "user", "status", "created_at")
    list_filter = ("status",)
