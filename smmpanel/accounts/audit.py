"""The audit log's one writer: every console action and staff sign-in is recorded here, once, and
never changed (AuditRecord refuses updates and deletes)."""

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from smmpanel.accounts.models import AuditRecord, User


def _plain(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """JSON-able copies of field values: Decimals and dates as text, exactly as they were."""

    def one(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, Mapping):
            return {str(k): one(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [one(v) for v in value]
        return value

    plain = {str(key): one(value) for key, value in (values or {}).items()}
    json.dumps(plain)  # refuse here, not at the database, a value that cannot be stored
    return plain


def role_of(user: User | None) -> str:
    """The console role a member of staff acts in; a superuser is an administrator."""
    if user is None or not user.is_active or not user.is_staff:
        return ""
    return "administrator" if user.is_superuser else user.staff_role


def record(
    actor: User | None,
    action: str,
    *,
    address: str | None = None,
    object_type: str = "",
    object_id: object = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    note: str = "",
    actor_name: str = "",
    at: datetime | None = None,
) -> AuditRecord:
    """Write one audit record. Call it in the same transaction as the change it records."""
    return AuditRecord.objects.create(
        actor=actor,
        actor_name=(actor.get_username() if actor is not None else actor_name)[:150],
        role=role_of(actor),
        at=at or timezone.now(),
        address=address or None,
        action=action[:60],
        object_type=object_type[:40],
        object_id=str(object_id)[:40],
        before=_plain(before),
        after=_plain(after),
        note=note,
    )
