"""The permissions of the transition groups, spelled once: the model declares them, the admin's
buttons and the API's writes check them.

Staff run a state change with its group's permission (payments, fulfilment, returns) rather than
with the model's change permission, so a warehouse can ship without editing orders.
"""

from typing import NamedTuple


class Permission(NamedTuple):
    codename: str
    label: str

    @property
    def name(self) -> str:
        """The name ``has_perm`` takes: ``orders.<codename>``."""
        return f"orders.{self.codename}"


PAYMENTS = Permission("run_payment_transitions", "Can record, fail and cancel payments")
FULFILMENT = Permission(
    "run_fulfillment_transitions", "Can create, pack, ship and deliver fulfilments"
)
RETURNS = Permission(
    "run_return_transitions", "Can approve, receive and complete returns and exchanges"
)

# For ``Order.Meta.permissions``.
TRANSITION_GROUPS = [(p.codename, p.label) for p in (PAYMENTS, FULFILMENT, RETURNS)]
