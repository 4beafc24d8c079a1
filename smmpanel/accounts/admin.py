from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from smmpanel.accounts.models import ApiKey, AuditRecord, User
from smmpanel.admin_base import ReadOnlyAdmin

# Staff's authenticators and recovery codes (django-otp registers pages that add, edit and show
# them) are not the admin's: `smmpanel staff reset-2fa` is the one way to replace them.
for device in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(device):
        admin.site.unregister(device)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Customers and operators. The ledger extends this page with the balance and the way to adjust
    it (smmpanel/ledger/admin.py): users know nothing of money."""

    list_display: tuple[str, ...] = ("username", "email", "api_enabled", "is_staff", "is_active")
    PANEL = ("api_enabled",)

    # Rights only a superuser hands out: with them, whoever may edit users could make
    # themselves superuser, or grant themselves the right to move money.
    RIGHTS = ("is_staff", "is_superuser", "groups", "user_permissions")

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:  # adding: Django's own short form
            return fieldsets
        return [*fieldsets, ("Panel", {"fields": self.panel_fields(request, obj)})]

    def panel_fields(self, request: HttpRequest, obj: User) -> tuple[str, ...]:
        """The panel's own fields of a user, below Django's."""
        return self.PANEL

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else (*fields, *self.RIGHTS)

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # A superuser's account (and so its password) is changed by a superuser only.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("user__username", "prefix")
    readonly_fields = ("key_hash", "prefix", "created_at")
    raw_id_fields = ("user",)

    def has_add_permission(self, request: object) -> bool:
        return False  # a key is shown once when issued; issue it with `smmpanel user create`


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    """The audit log, to read: nobody, superusers included, adds, changes or deletes a record."""

    list_display = ("at", "actor_name", "role", "action", "object_type", "object_id", "address")
    list_filter = ("action", "role")
    search_fields = ("actor_name", "action", "object_type", "object_id", "note")
    date_hierarchy = "at"
    actions = None
