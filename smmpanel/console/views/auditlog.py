"""The audit log: every console action and staff sign-in, newest first, filtered by person,
object and date. Read-only: nothing in the console or the admin edits or deletes a record."""

from datetime import datetime, time, timedelta

from django import forms
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from smmpanel.accounts.models import AuditRecord
from smmpanel.console.guard import staff_view

PER_PAGE = 50


class AuditFilter(forms.Form):
    person = forms.CharField(label=_("Person"), required=False, max_length=150)
    object_type = forms.CharField(label=_("Object"), required=False, max_length=40)
    object_id = forms.CharField(label=_("Object id"), required=False, max_length=40)
    action = forms.CharField(label=_("Action"), required=False, max_length=60)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def records(self) -> QuerySet[AuditRecord]:
        found = AuditRecord.objects.select_related("actor")
        if not self.is_valid():
            return found.none()
        data = self.cleaned_data
        if data["person"]:
            found = found.filter(actor_name__iexact=data["person"].strip())
        if data["object_type"]:
            found = found.filter(object_type__iexact=data["object_type"].strip())
        if data["object_id"]:
            found = found.filter(object_id=data["object_id"].strip())
        if data["action"]:
            found = found.filter(Q(action=data["action"]) | Q(action__startswith=f"{data['action']}."))
        zone = timezone.get_current_timezone()
        if data["since"]:
            found = found.filter(at__gte=datetime.combine(data["since"], time.min, zone))
        if data["until"]:
            found = found.filter(at__lt=datetime.combine(data["until"] + timedelta(days=1), time.min, zone))
        return found


@staff_view("audit")
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilter(request.GET)
    page = Paginator(form.records(), PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "nav": "audit"}
    return render(request, "console/audit.html", context)
