"""Console views record what they did through here: the audit log's writer (accounts.audit) with
the member of staff and the client address taken from the request."""

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest

from smmpanel.accounts import audit
from smmpanel.accounts.models import AuditRecord, User
from smmpanel.throttle import client_address


def audit_action(
    request: HttpRequest,
    action: str,
    *,
    object_type: str = "",
    object_id: object = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    note: str = "",
) -> AuditRecord:
    """Record one console action; call it inside the transaction of the change."""
    user = request.user
    assert isinstance(user, User)
    return audit.record(
        user,
        action,
        address=client_address(request),
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        note=note,
    )
