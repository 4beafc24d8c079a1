from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from smmpanel.console.guard import staff_view


@staff_view("dashboard")
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "console/dashboard.html", {"nav": "dashboard"})
