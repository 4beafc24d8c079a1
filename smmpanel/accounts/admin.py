from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from smmpanel.accounts.models import ApiKey, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "balance", "api_enabled", "is_staff", "is_active")
    # The balance moves only through the ledger (`smmpanel user credit`).
    readonly_fields = ("balance",)
    fieldsets = (*(BaseUserAdmin.fieldsets or ()), ("Panel", {"fields": ("balance", "api_enabled")}))


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("user__username", "prefix")
    readonly_fields = ("key_hash", "prefix", "created_at")
    raw_id_fields = ("user",)

    def has_add_permission(self, request: object) -> bool:
        return False  # a key is shown once when issued; issue it with `smmpanel user create`
