"""The domain's one error family. Services raise these; the API and the admin render them."""


class DomainError(Exception):
    """Bad input or a rule the request breaks. Nothing was written."""

    status_code = 400
    name = "ValidationError"

    def __init__(self, message: str, *, field: str | None = None, data: dict | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.data = data or {}


class NotFound(DomainError):
    status_code = 404
    name = "NotFound"


class Conflict(DomainError):
    """A duplicate (order number, payment id, a cart that already checked out)."""

    status_code = 409
    name = "Conflict"


class TransitionError(Conflict):
    """A state change the current state does not allow."""

    name = "TransitionError"

    def __init__(self, message: str, *, current: str, allowed: list[str], field: str | None = None):
        super().__init__(message, field=field, data={"status": current, "allowed": allowed})
        self.current = current
        self.allowed = allowed
