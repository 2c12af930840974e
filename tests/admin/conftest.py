"""Staff users, one per role (the groups come from the migration), and clients logged in as them."""

import pytest
from django.contrib.auth.models import Group, User

from tests.admin.browser import (
    chromium,  # noqa: F401 (a fixture for the browser tests)
    ensure_staff_groups,
)

ROLES = {
    "payments": "Payments",
    "warehouse": "Warehouse",
    "service": "Customer service",
    "manager": "Manager",
}
PASSWORD = "staff-password-123"


def make_staff(username: str, group: str | None = None) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", PASSWORD, is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def staff(db):
    """A dict role → user, each user in its group and nothing else."""
    return {role: make_staff(role, group) for role, group in ROLES.items()}


@pytest.fixture
def as_role(client, staff):
    """``as_role("warehouse")`` → the test client logged in as that role."""

    def login(role: str):
        client.force_login(staff[role])
        return client

    return login


@pytest.fixture
def users(transactional_db):
    """For the browser tests (a live server reads committed rows): a dict role → user."""
    ensure_staff_groups()
    return {role: make_staff(role, group) for role, group in ROLES.items()}


@pytest.fixture(params=["en", "ko"])
def lang(request):
    """A browser test runs once in English and once in Korean."""
    return request.param
