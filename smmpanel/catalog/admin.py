from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils import timezone

from smmpanel.catalog.models import Category, CustomRate, Provider, ProviderService, Service
from smmpanel.ledger.money import normalised


class ProviderForm(ModelForm):
    """The provider's API key is write-only here as in the console: the field is always empty,
    and leaving it empty keeps the stored key."""

    url = forms.URLField(required=False, max_length=500, assume_scheme="https")
    api_key = forms.CharField(
        required=False,
        max_length=200,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: never shown. Leave it empty to keep the stored key.",
    )

    class Meta:
        model = Provider
        fields = [
            "name",
            "kind",
            "url",
            "api_key",
            "currency",
            "enabled",
            "honours_idempotency",
            "requests_per_second",
            "timeout_seconds",
            "exchange_rate",
            "price_rule",
            "price_markup",
            "price_step",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["api_key"] = ""  # never sent back to the browser, not even as a length

    def clean_api_key(self) -> str:
        typed = str(self.cleaned_data.get("api_key") or "")
        return typed or self.instance.api_key


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = ("name", "kind", "url", "currency", "exchange_rate_shown", "enabled")
    # Written by balance reads only (providers/balances.py), never typed.
    readonly_fields = ("exchange_rate_set_at", "last_balance", "last_balance_at", "balance_error")

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
