"""Not built yet (issue 5)."""

from django.http import HttpRequest, HttpResponse


def funds(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def payment(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def transactions(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError
