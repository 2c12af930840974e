"""Running a state machine's transition: the one path every service takes to change a status.

It refuses what the current state does not allow with a ``TransitionError`` naming the current
state and the states that can be reached, saves the row, and appends to the transition log.
``record_change`` appends an entry without a state change: a correction of recorded details.
"""

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django_fsm import can_proceed

from orders.models import TransitionLog
from shop.actors import Actor
from shop.errors import TransitionError


def allowed_targets(obj: models.Model, field: str = "status") -> list[str]:
    """The states the machine leads to from the object's current state, in machine order."""
    current = getattr(obj, field)
    targets: list[str] = []
    for transition in getattr(obj, f"get_all_{field}_transitions")():
        if transition.source in (current, "*") and transition.target not in targets:
            targets.append(transition.target)
    # django-fsm yields transitions in no fixed order: list them as the field's choices do.
    order = [value for value, _label in obj._meta.get_field(field).choices]
    return sorted(targets, key=lambda t: order.index(t) if t in order else len(order))


def transition_label(obj: models.Model) -> str:
    return f"{obj._meta.model_name} {obj.pk}"


def run_transition(
    obj: models.Model,
    name: str,
    *,
    actor: Actor,
    order_id: int | None,
    reason: str = "",
    update_fields: list[str] | None = None,
    logs: list[TransitionLog] | None = None,
    save: bool = True,
    changes: dict | None = None,
) -> TransitionLog:
    """Run ``obj.<name>()``, save and log it. The caller holds the row lock and the transaction.

    A row not in the database yet is inserted in the state the transition leaves it in (one
    INSERT instead of an INSERT and an UPDATE); a new order running its own first transition
    passes ``order_id=None`` and is logged under its id once inserted. With ``logs``, the log
    entry is appended there instead of being inserted at once: the caller writes the list with
    ``write_logs`` before its transaction ends, in the order the transitions ran. With
    ``save=False`` the row is not written: a service that moves one row through several states
    saves it once, in its last state (``save_status``). ``changes`` (``{field: {"from": …,
    "to": …}}``) records the details the move was made with (the number a parcel shipped with).
    """
    method = getattr(obj, name)
    meta = method._django_fsm
    field = meta.field.name
    source = getattr(obj, field)
    if not can_proceed(method):
        raise refused(obj, next(iter(meta.transitions.values())).target, field)
    method()
    if not save:
        pass
    elif obj._state.adding:
        obj.save()
    else:
        obj.save(update_fields=[field, "updated_at", *(update_fields or [])])
    log = TransitionLog(
        order_id=obj.pk if order_id is None else order_id,
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        transition=name,
        source=source,
        target=getattr(obj, field),
        actor_kind=actor.kind,
        actor_user=actor.user if actor.user is not None and actor.user.pk else None,
        actor_label=actor.label,
        reason=reason,
        changes=changes or {},
    )
    if logs is None:
        log.save()
    else:
        logs.append(log)
    return log


def record_change(
    obj: models.Model,
    name: str,
    *,
    actor: Actor,
    order_id: int,
    changes: dict,
    reason: str = "",
    field: str = "status",
) -> TransitionLog:
    """Log a change of ``obj``'s details that leaves its state as it is (``source`` and
    ``target`` are both the current state). The caller saves the row and holds its lock and
    the transaction."""
    state = getattr(obj, field)
    return TransitionLog.objects.create(
        order_id=order_id,
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        transition=name,
        source=state,
        target=state,
        actor_kind=actor.kind,
        actor_user=actor.user if actor.user is not None and actor.user.pk else None,
        actor_label=actor.label,
        reason=reason,
        changes=changes,
    )


def save_status(obj: models.Model, field: str = "status") -> None:
    """Write a row ``run_transition(..., save=False)`` moved (its state and ``updated_at``)."""
    obj.save(update_fields=[field, "updated_at"])


def write_logs(logs: list[TransitionLog]) -> None:
    """Insert log entries ``run_transition`` collected, in one statement and in their order."""
    if logs:
        TransitionLog.objects.bulk_create(logs)


def refused(obj: models.Model, target: str, field: str = "status") -> TransitionError:
    """The error for a move to ``target`` that the current state does not allow."""
    current = getattr(obj, field)
    return TransitionError(
        f"Cannot move {transition_label(obj)} from {current} to {target}",
        current=current,
        allowed=allowed_targets(obj, field),
    )


def transition_to(obj: models.Model, target: str, field: str = "status") -> str:
    """The name of the transition that moves ``obj`` to ``target`` from its current state.

    Raises TransitionError when none does (used by "PATCH {status: …}" and admin buttons).
    """
    for transition in getattr(obj, f"get_available_{field}_transitions")():
        if transition.target == target:
            return transition.name
    raise refused(obj, target, field)
