"""Not built yet (issue 5)."""

from django.http import HttpRequest, HttpResponse


def dashboard(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError
