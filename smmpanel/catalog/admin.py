from django.conf import settings
from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils import timezone

from smmpanel.catalog.models import Category, CustomRate, Provider, ProviderService, Service
from smmpanel.ledger.money import normalised


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "url", "currency", "exchange_rate_shown", "enabled")
    readonly_fields = ("exchange_rate_set_at",)

    @admin.display(description="Exchange rate")
    def exchange_rate_shown(self, provider: Provider) -> str:
        """The rate to the panel's currency with the date it was set, flagged when stale."""
        if provider.counts_in_panel_currency:
            return "-"
        set_at = provider.exchange_rate_set_at
        when = f"set {timezone.localtime(set_at):%Y-%m-%d}" if set_at else "never set"
        stale = ", STALE" if provider.exchange_rate_is_stale(timezone.now()) else ""
        rate = f"1 {provider.currency} = {normalised(provider.exchange_rate)} {settings.SMMPANEL_CURRENCY}"
        return f"{rate} ({when}{stale})"

    def save_model(
        self, request: HttpRequest, obj: Provider, form: "ModelForm[Provider]", change: bool
    ) -> None:
        if "exchange_rate" in form.changed_data:  # the date a rate was set goes with it
            obj.exchange_rate_set_at = timezone.now()
        super().save_model(request, obj, form, change)


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
