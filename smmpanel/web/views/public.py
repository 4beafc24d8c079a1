"""Pages anyone may see: the landing page and the price list."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    base = request.build_absolute_uri("/").rstrip("/")
    return render(request, "web/home.html", {"api_v1": f"{base}/api/v1", "api_v2": f"{base}/api/v2"})


def services(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError  # built by the services-page work (issue 5)
