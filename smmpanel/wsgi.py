"""The panel's WSGI application: the reseller API paths, then Django for the rest."""

import os
from collections.abc import Iterable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smmpanel.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

django_application = get_wsgi_application()

from smmpanel.api.app import StartResponse, api  # noqa: E402
from smmpanel.api.dialects import DIALECTS  # noqa: E402

_API_PATHS = {f"/api/{name}{slash}": dialect for name, dialect in DIALECTS.items() for slash in ("", "/")}


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    dialect = _API_PATHS.get(environ.get("PATH_INFO", ""))
    if dialect is not None:
        return api(dialect, environ, start_response)
    return django_application(environ, start_response)
