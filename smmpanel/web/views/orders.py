"""Not built yet (issue 5)."""

from django.http import HttpRequest, HttpResponse


def new(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def price(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def mass(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def orders(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def detail(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def refill(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def cancel(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError
