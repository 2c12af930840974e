"""Reading write bodies against a collection's declaration, and the plain model writer the
catalog uses (collections without a state machine: create, change and delete rows).

Domain collections (orders, fulfilments, returns…) write through their app's services instead;
they use ``Body`` to read and check what a client sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError

from shop.api import access
from shop.api.collections import (
    Choice,
    CoercionError,
    Collection,
    Computed,
    DateTime,
    Field,
    Group,
    Relation,
    Text,
    registry,
)
from shop.api.documents import get_document
from shop.api.errors import Forbidden, ValidationError
from shop.errors import Conflict

# Read-only keys a client may send back unchanged (Payload clients often post whole documents).
IGNORED = frozenset({"id", "createdAt", "updatedAt"})


class Body:
    """A JSON object sent to a collection, values coerced per field.

    A document sent back as it was read is accepted, as Payload accepts it: keys that are no
    field of the collection (its joins, computed values, anything unknown) are ignored, and so
    is a field the write does not take (or the caller may not write) whose value is the
    document's own (``pk``: the document being changed). A real change to such a field is
    refused: 400 for a field this write never takes, 403 for one the caller may not write."""

    def __init__(
        self,
        request,
        collection: Collection,
        data: Any,
        *,
        accepts: Iterable[str],
        action: str,
        pk: int | None = None,
    ):
        self.request = request
        self.collection = collection
        self.pk = pk
        self._current: dict | None = None
        if not isinstance(data, dict):
            raise ValidationError(
                collection.slug,
                [{"path": "", "message": "The request body must be a JSON object."}],
                message="The request body must be a JSON object.",
            )
        accepts = set(accepts)
        fields = {item.name: item for item in collection.fields if not isinstance(item, Computed)}
        allowed = access.writable_fields(request, collection, action)
        kept, unknown, forbidden = {}, [], False
        for key, value in data.items():
            if key in IGNORED:
                continue
            if key not in accepts:
                if key not in fields or self._unchanged(fields[key], key, value):
                    continue  # a join, a computed value, an unknown key, an unchanged field
                unknown.append(key)
            elif allowed is not None and key not in allowed:
                if key not in fields or not self._unchanged(fields[key], key, value):
                    forbidden = True
            else:
                kept[key] = value
        if unknown:
            raise ValidationError(
                collection.slug,
                [{"path": key, "message": "This field cannot be written here."} for key in unknown],
            )
        if forbidden:
            raise Forbidden()
        self.data = kept
        self.data.update(access.forced_values(request, collection, action))
        self.errors: list[dict] = []

    def changed(self, key: str) -> bool:
        """Whether the body sets ``key`` to something else than the document holds (a field
        sent back unchanged with a document as it was read is no edit)."""
        if key not in self.data:
            return False
        field = self.collection.field(key) or next(
            (item for item in self.collection.fields if item.name == key), None
        )
        return field is None or not self._unchanged(field, key, self.data[key])

    def _unchanged(self, field, key: str, value) -> bool:
        """Whether ``value`` is what the document being changed holds in ``key``."""
        if self.pk is None:
            return False
        if self._current is None:
            self._current = get_document(
                self.request, self.collection, self.pk, {"joins": "false"}, depth=0
            )
        if key not in self._current:
            return False  # not shown to this caller: never "the same"
        return same_value(field, value, self._current[key])

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default=None):
        return self.data.get(key, default)

    def error(self, path: str, message: str) -> None:
        self.errors.append({"path": path, "message": message})

    def value(self, key: str, field: Field | None = None, *, required: bool = False):
        """The coerced value of ``key`` (None when absent or invalid; errors are collected)."""
        field = field or self.collection.field(key)
        if key not in self.data:
            if required:
                self.error(key, "This field is required.")
            return None
        raw = self.data[key]
        if raw is None or (raw == "" and isinstance(field, Relation)):
            if required or not getattr(field, "nullable", True):
                self.error(key, "This field is required." if required else "Cannot be empty.")
            return None
        try:
            if isinstance(field, Choice):
                value = field.coerce_choice(raw)
            elif isinstance(field, Relation):
                value = field.coerce(raw)
            elif field.kind == "text":
                if not isinstance(raw, str):
                    raise CoercionError("expected text")
                value = raw
            else:
                value = field.coerce(raw)
        except CoercionError as error:
            self.error(key, f"Invalid value: {error}.")
            return None
        minimum = getattr(field, "min_value", None)
        if minimum is not None and value < minimum:
            self.error(key, f"Must be at least {minimum}.")
            return None
        if isinstance(field, Relation) and value is not None:
            target = registry.get(field.to)
            visible = access.scope(self.request, target, target.model.objects.filter(pk=value))
            if not visible.exists():
                self.error(key, f"{target.singular} {value} does not exist.")
                return None
        return value

    def check(self) -> None:
        if self.errors:
            raise ValidationError(self.collection.slug, self.errors)


def same_value(field, sent, current) -> bool:
    """Whether a value sent for ``field`` is the one a document shows (a relation by id, even
    populated; a group member by member; a timestamp as an instant)."""
    try:
        if isinstance(field, Group):
            members = {m.name: m for m in field.members}
            return (
                isinstance(sent, dict)
                and isinstance(current, dict)
                and all(
                    name in members and same_value(members[name], item, current.get(name))
                    for name, item in sent.items()
                )
            )
        if isinstance(field, Relation):
            return field.coerce(sent) == field.coerce(current)
        if isinstance(field, DateTime):
            if sent is None or current is None:
                return sent is current
            return field.coerce(sent) == field.coerce(current)
    except CoercionError:
        return False
    return type(sent) is type(current) and sent == current


def _field_names(collection: Collection) -> dict[str, str]:
    """Model column → camelCase path, for turning model validation errors into API paths."""
    names = {}
    for path, (column, found) in collection.paths.items():
        names.setdefault(column, path)
        if isinstance(found, Relation):
            names.setdefault(found.id_column, path)
    return names


class ModelWriter:
    """Create, change and delete plain rows of a collection: model validation, then save.

    ``fields`` are the camelCase fields a client may write; ``setters`` write a key another way
    (a customer's password is hashed); ``guard`` refuses changes to a row (a checked-out cart);
    ``constraints`` turn database constraint names into a field path and message.
    """

    def __init__(
        self,
        collection: Collection,
        fields: list[str],
        *,
        required: Iterable[str] = (),
        setters: dict[str, Callable[[Any, Any], None]] | None = None,
        guard: Callable[[Any], None] | None = None,
        constraints: dict[str, tuple[str, str]] | None = None,
    ):
        self.collection = collection
        self.fields = fields
        self.required = set(required)
        self.setters = setters or {}
        self.guard = guard
        self.constraints = constraints or {}
        writes = [Accept(name, Text(name), write_only=True) for name in self.setters]
        Write(
            collection,
            "create",
            *[Accept(name, required=name in self.required) for name in fields],
            *writes,
        )
        Write(collection, "update", *fields, *writes)
        collection.create = self.create
        collection.update = self.update
        collection.delete = self.delete
        collection.deletable = True

    def _apply(self, request, instance, data: Any, *, creating: bool) -> None:
        body = Body(
            request,
            self.collection,
            data,
            accepts=[*self.fields, *self.setters],
            action="add" if creating else "change",
            pk=None if creating else instance.pk,
        )
        for name in self.fields:
            if name not in body and not (creating and name in self.required):
                continue
            found = self.collection.field(name)
            value = body.value(name, found, required=name in self.required)
            if any(e["path"] == name for e in body.errors):
                continue
            if isinstance(found, Relation):
                setattr(instance, found.id_column, value)
            elif value is not None or found.nullable:
                setattr(instance, found.column, value)
        for name, setter in self.setters.items():
            if name in body:
                setter(instance, body.raw(name))
        body.check()
        try:
            instance.full_clean()
        except DjangoValidationError as error:
            raise self._validation_error(error) from None

    def _validation_error(self, error: DjangoValidationError) -> ValidationError:
        names = _field_names(self.collection)
        errors = []
        for column, messages in error.message_dict.items():
            for message in messages:
                path = "" if column == "__all__" else names.get(column, column)
                for constraint, (field_path, friendly) in self.constraints.items():
                    if constraint in message:
                        path, message = field_path, friendly
                errors.append({"path": path, "message": message})
        return ValidationError(self.collection.slug, errors)

    def create(self, request, data) -> int:
        with transaction.atomic():
            instance = self.collection.model()
            self._apply(request, instance, data, creating=True)
            self._save(instance)
        return instance.pk

    def update(self, request, pk: int, data) -> None:
        with transaction.atomic():
            instance = self.collection.model.objects.select_for_update().get(pk=pk)
            if self.guard is not None:
                self.guard(instance)
            self._apply(request, instance, data, creating=False)
            self._save(instance)

    def delete(self, request, pk: int) -> None:
        with transaction.atomic():
            instance = self.collection.model.objects.select_for_update().get(pk=pk)
            if self.guard is not None:
                self.guard(instance)
            try:
                instance.delete()
            except (ProtectedError, RestrictedError):
                raise Conflict(
                    f"{self.collection.singular} {pk} is still used by other documents "
                    "and cannot be deleted.",
                ) from None

    def _save(self, instance) -> None:
        try:
            with transaction.atomic():
                instance.save()
        except IntegrityError as error:
            raise Conflict(f"The change conflicts with existing data: {error}".strip()) from None


# ---------------------------------------------------------------------------------------------
# What a write accepts, declared once: Body reads by it, the OpenAPI body is made from it.


@dataclass
class Lines:
    """A body key holding a list of objects (an order's lines, a parcel's items), each member
    declared as a field."""

    members: list[Field]
    required: tuple[str, ...] = ()
    min_items: int | None = None
    description: str = ""

    def schema(self) -> dict:
        item = {"type": "object", "properties": {m.name: input_schema(m) for m in self.members}}
        if self.required:
            item["required"] = list(self.required)
        schema = {"type": "array", "items": item}
        if self.min_items is not None:
            schema["minItems"] = self.min_items
        if self.description:
            schema["description"] = self.description
        return schema


@dataclass
class Mapping:
    """A body key holding an object of ids to whole numbers (``restock``: units per line)."""

    values: Field
    description: str = ""

    def schema(self) -> dict:
        schema = {"type": "object", "additionalProperties": input_schema(self.values)}
        if self.description:
            schema["description"] = self.description
        return schema


@dataclass
class Accept:
    """One key a write takes: the collection's field of that name, or ``field`` (a key that is
    no field of the document: lines, a payment id, a reason). ``description``, ``enum`` and
    ``required`` say what this write asks of it, beyond the field's own declaration."""

    name: str
    field: Field | Group | Lines | Mapping | None = None
    required: bool = False
    description: str = ""
    enum: list | None = None
    default: Any = None
    write_only: bool = False
    members_required: tuple[str, ...] = ()  # a group's members this write needs


class Write:
    """What one write (a create, an update, a server action such as checkout) accepts.

    Its keys are the ``accepts`` given here plus every field of the collection that declares
    this write in ``writes=(…)``: adding a field a create takes is one line in the collection's
    declaration. ``Body`` reads a request by it (iterating a Write gives its keys), and its
    OpenAPI body is ``schema()``."""

    def __init__(
        self, collection: Collection, name: str, *accepts: str | Accept, description: str = ""
    ):
        self.collection = collection
        self.name = name
        self.accepts = [a if isinstance(a, Accept) else Accept(a) for a in accepts]
        self.description = description
        if name in ("create", "update"):
            collection.writes[name] = self

    def _all(self) -> list[Accept]:
        found = list(self.accepts)
        named = {a.name for a in found}
        for item in self.collection.fields:
            if self.name in getattr(item, "writes", ()) and item.name not in named:
                found.append(Accept(item.name))
        return found

    def __iter__(self):
        return iter([a.name for a in self._all()])

    def schema(self) -> dict:
        properties: dict = {}
        required = []
        for accept in self._all():
            found = accept.field or self.collection.field(accept.name)
            if found is None:
                found = next(i for i in self.collection.fields if i.name == accept.name)
            schema = input_schema(found)
            if accept.enum is not None:
                schema["enum"] = list(accept.enum)
            if accept.default is not None:
                schema["default"] = accept.default
            if accept.members_required:
                schema["required"] = list(accept.members_required)
            if accept.description:
                schema["description"] = accept.description
            if accept.write_only:
                schema["writeOnly"] = True
            properties[accept.name] = schema
            if accept.required:
                required.append(accept.name)
        # Payload ignores keys that are no field (a document sent back with its joins and
        # computed values), and so does Body: the schema allows them.
        schema = {"type": "object", "properties": properties, "additionalProperties": True}
        if required:
            schema["required"] = required
        if self.description:
            schema["description"] = self.description
        return schema


def input_schema(found) -> dict:
    """How a body writes a field: a relation as its id, a group as its members, the rest as
    the document shows it."""
    if isinstance(found, Relation):
        schema = {"type": "integer", "format": "int64", "description": f"{found.to} id"}
        if found.nullable:
            schema["nullable"] = True
        if found.description:
            schema["description"] = found.description
        return schema
    if isinstance(found, Group):
        schema = {
            "type": "object",
            "properties": {m.name: input_schema(m) for m in found.members},
        }
        if found.nullable:
            schema["nullable"] = True
        if found.description:
            schema["description"] = found.description
        return schema
    schema = found.schema()
    minimum = getattr(found, "min_value", None)
    if minimum is not None:
        schema["minimum"] = minimum
    return schema
