from django.contrib import admin

from smmpanel.admin_base import ReadOnlyAdmin
from smmpanel.orders.models import Order, OrderEvent, Refill


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "kind", "data", "actor")

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


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
