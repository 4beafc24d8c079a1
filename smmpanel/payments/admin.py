from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from smmpanel.accounts.models import User
from smmpanel.payments import services
from smmpanel.payments.models import Payment


def _operator(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    """Customers create payments; the operator confirms (crediting the balance) or rejects them."""

    list_display = (
        "reference",
        "created_at",
        "user",
        "method",
        "amount",
        "status",
        "decided_at",
        "decided_by",
    )
    list_filter = ("status", "method")
    search_fields = ("reference", "user__username")
    list_select_related = ("user", "decided_by")
    # Everything but the note is the customer's request or the result of a service call.
    readonly_fields = (
        "user",
        "method",
        "amount",
        "reference",
        "status",
        "created_at",
        "decided_at",
        "decided_by",
    )
    fields = (*readonly_fields, "note")
    actions = ["confirm_selected", "reject_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # customers ask for payments on the site

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # the record of what was asked and decided stays

    @admin.action(description=gettext_lazy("Confirm selected payments"))
    def confirm_selected(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        done, refused = 0, []
        for payment in queryset.order_by("id"):
            try:
                done += services.confirm(payment.pk, _operator(request))
            except services.PaymentError:
                refused.append(payment.reference)
        self._report(request, _("%(count)d payment(s) confirmed and credited.") % {"count": done}, refused)

    @admin.action(description=gettext_lazy("Reject selected payments"))
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        done, refused = 0, []
        for payment in queryset.order_by("id"):
            try:
                done += services.reject(payment.pk, _operator(request), note=payment.note)
            except services.PaymentError:
                refused.append(payment.reference)
        self._report(request, _("%(count)d payment(s) rejected.") % {"count": done}, refused)

    def _report(self, request: HttpRequest, text: str, refused: list[str]) -> None:
        self.message_user(request, text, messages.SUCCESS)
        if refused:
            self.message_user(
                request,
                _("Not pending, left as they were: %(references)s") % {"references": ", ".join(refused)},
                messages.WARNING,
            )
