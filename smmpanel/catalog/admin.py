from django.contrib import admin

from smmpanel.catalog.models import Category, CustomRate, Provider, ProviderService, Service


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "url", "currency", "enabled")


@admin.register(ProviderService)
class ProviderServiceAdmin(admin.ModelAdmin):
    list_display = ("provider", "external_id", "name", "type", "rate", "min", "max")
    list_filter = ("provider", "type")
    search_fields = ("name", "external_id")


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "sort_order", "enabled")


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "category", "type", "rate", "min", "max", "enabled")
    list_filter = ("enabled", "type", "category")
    search_fields = ("name",)


@admin.register(CustomRate)
class CustomRateAdmin(admin.ModelAdmin):
    list_display = ("user", "service", "rate")
    raw_id_fields = ("user", "service")
