"""The reconciliation page: one day (today in the panel's time zone unless another is picked),
per gateway, the deposits confirmed against the ledger's entries, and each difference listed.
The figures come from payments/reconcile.py; this view only asks for a day and shows them."""

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy

from smmpanel.console.guard import staff_view
from smmpanel.payments import reconcile


class DayForm(forms.Form):
    day = forms.DateField(
        label=gettext_lazy("Day"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


@staff_view("deposits")
def reconciliation(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate(timezone=timezone.get_default_timezone())
    form = DayForm(request.GET)
    if form.is_valid():
        day, status = form.cleaned_data["day"] or today, 200
        form = DayForm({"day": day.isoformat()})  # the picker shows the day shown
    else:
        day, status = today, 400
    context = {"form": form, "result": reconcile.reconcile(day), "day": day, "nav": "reconcile"}
    return render(request, "console/reconcile.html", context, status=status)
