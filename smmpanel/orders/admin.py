from django.contrib import admin

from smmpanel.orders.models import Order, OrderEvent, Refill


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that change state through the order services only (which check it and record why),
    so the console reads them and offers no form or action that could write one."""

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


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
