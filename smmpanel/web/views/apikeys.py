"""Not built yet (issue 5)."""

from django.http import HttpRequest, HttpResponse


def api_page(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def new_key(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


def docs(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError
