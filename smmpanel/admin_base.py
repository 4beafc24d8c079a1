"""What the console's admin classes share."""

from django.contrib import admin


class ReadOnly:
    """Rows that only their own services write (which check the change and record why): the
    console reads them and offers no form or action that could write one. A mixin, for a model's
    page (ReadOnlyAdmin) and for rows shown inside another's (an inline) alike."""

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin):  # type: ignore[type-arg]
    """A model's console pages, read-only (see ReadOnly)."""
