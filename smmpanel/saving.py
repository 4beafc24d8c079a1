"""A save of a row read earlier writes only what this instance changed.

Django's own code saves whole rows: its password forms call `user.save()`, a
ModelForm's `save()` and the admin's change view do the same. A row read at the
start of a request and saved at its end would then put back every column as it
was read, undoing whatever another transaction committed in between (an order's
status, a payment's state, a service disabled by a catalogue sync, a customer's
API access switched off by the operator). Models that derive from this class
remember the values they were loaded with and turn such a save into
`save(update_fields=[the fields that differ])`, so the stale columns are never
written.

Written here rather than taken from a library: django-dirtyfields tracks changes
but leaves `save()` writing every column, and the point is to narrow the saves
that Django's forms and admin make.
"""

import copy
from collections.abc import Collection, Iterable
from typing import Any

from django.db import models
from django.db.models import QuerySet


def _snapshot(value: Any) -> Any:
    # A JSON field's dict changed in place must still count as a change.
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


class SavesChangedFields(models.Model):
    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding and kwargs.get("update_fields") is None and not kwargs.get("force_insert"):
            changed = self.changed_fields()
            if changed:  # the row is written, so its auto_now stamps move too
                changed += [
                    f.attname
                    for f in self._meta.concrete_fields
                    if getattr(f, "auto_now", False) and f.attname not in changed
                ]
            kwargs["update_fields"] = changed  # empty: nothing changed, nothing is written
        super().save(*args, **kwargs)
        written = kwargs.get("update_fields")
        self._remember(written if written is not None else (f.attname for f in self._meta.concrete_fields))

    def refresh_from_db(
        self,
        using: str | None = None,
        fields: Iterable[str] | None = None,
        from_queryset: QuerySet[Any] | None = None,
    ) -> None:
        fields = list(fields) if fields is not None else None
        super().refresh_from_db(using, fields, from_queryset)
        concrete = {name for f in self._meta.concrete_fields for name in (f.name, f.attname)}
        refreshed = [name for name in fields if name in concrete] if fields is not None else concrete
        self._remember(refreshed)

    @classmethod
    def from_db(cls, db: str | None, field_names: Collection[str], values: Collection[Any]) -> Any:
        instance = super().from_db(db, field_names, values)
        instance._remember(f.attname for f in cls._meta.concrete_fields)
        return instance

    def _remember(self, names: Iterable[str]) -> None:
        loaded: dict[str, Any] = self.__dict__.setdefault("_loaded_values", {})
        for name in names:
            attname = self._meta.get_field(name).attname  # type: ignore[union-attr]
            if attname in self.__dict__:  # deferred fields are not loaded, so not remembered
                loaded[attname] = _snapshot(self.__dict__[attname])

    def changed_fields(self) -> list[str]:
        """The fields whose value differs from the one read from the database (attnames)."""
        loaded: dict[str, Any] = self.__dict__.get("_loaded_values", {})
        changed = []
        for field in self._meta.concrete_fields:
            if field.primary_key or field.attname not in self.__dict__:
                continue
            if field.attname not in loaded or loaded[field.attname] != self.__dict__[field.attname]:
                changed.append(field.attname)
        return changed
