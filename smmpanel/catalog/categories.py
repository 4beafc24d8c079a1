"""The operator's changes to categories: create, rename, hide or show, order (one step up or down,
or a whole new order from a drag and drop) and delete an empty one. Each returns the fields before
and after for the audit record the caller writes in the same transaction."""

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from smmpanel.catalog.editing import EditError, category_of
from smmpanel.catalog.models import Category

MAX_NAME = Category._meta.get_field("name").max_length or 500


def listed() -> QuerySet[Category]:
    """Every category in the customers' order, each with its number of services."""
    return Category.objects.annotate(service_count=Count("services")).order_by("sort_order", "id")


def _name(text: str, *, other_than: int | None = None) -> str:
    name = " ".join(text.split())
    if not name:
        raise EditError(_("Enter the category's name."), "name_missing")
    if len(name) > MAX_NAME:
        raise EditError(
            _("A category's name has at most %(max)s characters.") % {"max": MAX_NAME}, "name_long"
        )
    if Category.objects.filter(name__iexact=name).exclude(pk=other_than or 0).exists():
        raise EditError(_("There is already a category named “%(name)s”.") % {"name": name}, "name_taken")
    return name


def create(text: str) -> Category:
    """A new category, shown to customers, after the others."""
    name = _name(text)
    last = Category.objects.order_by("-sort_order").values_list("sort_order", flat=True).first()
    try:
        with transaction.atomic():
            return Category.objects.create(name=name, sort_order=(last or 0) + 1)
    except IntegrityError:  # the same name created at the same moment
        raise EditError(
            _("There is already a category named “%(name)s”.") % {"name": name}, "name_taken"
        ) from None


def _locked(category_id: int) -> Category:
    category = category_of(category_id)
    return Category.objects.select_for_update().get(pk=category.pk)


def rename(category_id: int, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    with transaction.atomic():
        category = _locked(category_id)
        name = _name(text, other_than=category.pk)
        Category.objects.filter(pk=category.pk).update(name=name)
    return {"name": category.name}, {"name": name}


def set_enabled(category_id: int, enabled: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Show the category (with its services) to customers or hide it."""
    with transaction.atomic():
        category = _locked(category_id)
        Category.objects.filter(pk=category.pk).update(enabled=enabled)
    return {"enabled": category.enabled}, {"enabled": enabled}


def _renumber(ids: Sequence[int]) -> None:
    """Sort orders 1, 2, 3 ... in the order of `ids` (only the rows whose place changes)."""
    now = dict(Category.objects.filter(pk__in=ids).values_list("pk", "sort_order"))
    for place, pk in enumerate(ids, start=1):
        if now.get(pk) != place:
            Category.objects.filter(pk=pk).update(sort_order=place)


def _order() -> list[int]:
    return list(
        Category.objects.select_for_update().order_by("sort_order", "id").values_list("pk", flat=True)
    )


def step(category_id: int, up: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Move the category one place up or down (the first stays first, the last stays last)."""
    with transaction.atomic():
        category_of(category_id)
        order = _order()
        at = order.index(category_id)
        to = at - 1 if up else at + 1
        if 0 <= to < len(order):
            order[at], order[to] = order[to], order[at]
            _renumber(order)
        return {"place": at + 1}, {"place": order.index(category_id) + 1}


def reorder(category_ids: Sequence[int]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new order of every category (the drag and drop): each category once, no other."""
    with transaction.atomic():
        order = _order()
        if sorted(category_ids) != sorted(order) or len(set(category_ids)) != len(category_ids):
            raise EditError(_("The new order must list every category once."), "order_incomplete")
        _renumber(category_ids)
    return {"order": order}, {"order": list(category_ids)}


def delete(category_id: int) -> dict[str, Any]:
    """Delete a category without services."""
    with transaction.atomic():
        category = _locked(category_id)
        if category.services.exists():
            raise EditError(_("A category with services cannot be deleted: move them first."), "not_empty")
        Category.objects.filter(pk=category.pk).delete()
    return {"name": category.name, "enabled": category.enabled}
