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

    def has_confirm_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.confirm_payment")

    def has_reject_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.reject_payment")

    # permissions=[...]: Django offers an action, and runs a posted one, only to whoever has it.
    @admin.action(description=gettext_lazy("Confirm selected payments"), permissions=["confirm"])
    def confirm_selected(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        done, refused = 0, Refusals()
        for payment in queryset.order_by("id"):
            try:
                done += services.confirm(payment.pk, _operator(request))
            except services.PaymentError as error:
                refused.add(error, payment.reference)
        self._report(request, _("%(count)d payment(s) confirmed and credited.") % {"count": done}, refused)

    @admin.action(description=gettext_lazy("Reject selected payments"), permissions=["reject"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        done, refused = 0, Refusals()
        for payment in queryset.order_by("id"):
            try:
                done += services.reject(payment.pk, _operator(request), note=payment.note)
            except services.PaymentError as error:
                refused.add(error, payment.reference)
        self._report(request, _("%(count)d payment(s) rejected.") % {"count": done}, refused)

    def _report(self, request: HttpRequest, text: str, refused: "Refusals") -> None:
        self.message_user(request, text, messages.SUCCESS)
        for reason, references in refused.items():
            self.message_user(
                request,
                _("%(reason)s Left as they were: %(references)s")
                % {"reason": reason, "references": ", ".join(references)},
                messages.WARNING,
            )


class Refusals(dict[str, list[str]]):
    """The references of the payments a service refused, by the reason it gave."""

    def add(self, error: services.PaymentError, reference: str) -> None:
        self.setdefault(error.message, []).append(reference)
