"""Setting up (`make run`'s first steps: `make setup`) never harms a real database: no existing
user is changed, demo data goes only where it was asked for, and seed_demo refuses real orders."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from orders.models import Order
from staff.management.commands.seed_demo import HISTORY, STORIES
from tests.helpers import db_snapshot, place_order
from tests.shop.processes import database_url, make, manage

PASSWORD = "the-owners-own-password"


def createlocaladmin(tmp_path) -> str:
    out = StringIO()
    call_command("createlocaladmin", password_file=tmp_path / "password", stdout=out)
    return out.getvalue()


def as_stored(username: str) -> tuple:
    user = User.objects.get(username=username)
    return user.password, user.is_staff, user.is_superuser, user.last_login


def logged_in_client(client, user):
    client.force_login(user)
    assert client.get("/admin/").status_code == 200
    return client


# createlocaladmin


@pytest.mark.django_db
def test_createlocaladmin_makes_a_superuser_on_a_database_without_one(tmp_path, client):
    said = createlocaladmin(tmp_path)
    password = (tmp_path / "password").read_text().strip()
    assert said.strip() == f"Staff login: user 'admin', password '{password}'"
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser and admin.check_password(password)
    response = client.post("/admin/login/", {"username": "admin", "password": password})
    assert response.status_code == 302 and client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_createlocaladmin_again_prints_the_login_and_changes_nothing(tmp_path, client):
    createlocaladmin(tmp_path)
    admin = User.objects.get(username="admin")
    session = logged_in_client(client, admin)
    before = as_stored("admin"), db_snapshot()

    said = createlocaladmin(tmp_path)

    assert "Staff login: user 'admin'" in said
    assert (as_stored("admin"), db_snapshot()) == before
    assert session.get("/admin/").status_code == 200  # still logged in


@pytest.mark.django_db
def test_createlocaladmin_never_touches_an_existing_admin_account(tmp_path, client):
    """No superuser, but a user named admin: it keeps its password, rights and sessions."""
    admin = User.objects.create_user("admin", "admin@shop.example", PASSWORD, is_staff=True)
    session = logged_in_client(client, admin)
    before = as_stored("admin"), User.objects.count()

    said = createlocaladmin(tmp_path)

    assert "left unchanged" in said
    assert (as_stored("admin"), User.objects.count()) == before
    assert not (tmp_path / "password").exists()
    assert session.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_createlocaladmin_creates_nothing_when_a_superuser_exists(tmp_path, client):
    owner = User.objects.create_superuser("owner", "owner@shop.example", PASSWORD)
    (tmp_path / "password").write_text("an-old-local-password\n")
    admin = User.objects.create_user("admin", "admin@shop.example", PASSWORD, is_staff=True)
    sessions = [logged_in_client(client.__class__(), user) for user in (owner, admin)]
    before = db_snapshot(), as_stored("admin"), as_stored("owner"), User.objects.count()

    said = createlocaladmin(tmp_path)

    assert said.strip() == "A superuser exists already: no local login created, no user changed."
    assert (db_snapshot(), as_stored("admin"), as_stored("owner"), User.objects.count()) == before
    assert all(s.get("/admin/").status_code == 200 for s in sessions)


# seed_demo


@pytest.mark.django_db
def test_seed_demo_refuses_a_database_with_real_orders():
    place_order()
    before = db_snapshot()
    with pytest.raises(CommandError, match=r"holds real orders .*Pass --force to load it anyway"):
        call_command("seed_demo", stdout=StringIO())
    assert db_snapshot() == before


@pytest.mark.django_db
def test_seed_demo_force_loads_next_to_real_orders():
    real = place_order()
    call_command("seed_demo", "--force", "--history", "2", stdout=StringIO())
    assert Order.objects.filter(order_number__startswith="DEMO-").count() == len(STORIES) + 2
    assert Order.objects.filter(pk=real.pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_seed_demo_says_in_one_line_why_it_refused():
    place_order()
    result = manage("seed_demo", DATABASE_URL=database_url())
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "CommandError: This database holds real orders (numbers not starting DEMO-): demo data "
        "not loaded. Pass --force to load it anyway."
    ]
    assert not Order.objects.filter(order_number__startswith="DEMO-").exists()


# make setup (what `make run` does before serving), run as a user runs it


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_make_setup_on_a_shops_database_changes_no_user_and_loads_no_demo(client):
    """The database of a shop: staff with an account named admin (logged in), a real order."""
    admin = User.objects.create_user("admin", "admin@shop.example", PASSWORD, is_staff=True)
    session = logged_in_client(client, admin)
    order = place_order()
    before = db_snapshot(), as_stored("admin"), User.objects.count()

    result = make("setup", DATABASE_URL=database_url())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Demo data not loaded" in result.stdout
    assert "User 'admin' exists and is not a superuser: left unchanged" in result.stdout
    assert (db_snapshot(), as_stored("admin"), User.objects.count()) == before
    assert list(Order.objects.values_list("pk", flat=True)) == [order.pk]
    assert session.get("/admin/").status_code == 200  # not logged out


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_make_setup_on_an_empty_postgresql_database_loads_demo_only_with_demo_1():
    owner = User.objects.create_superuser("owner", "owner@shop.example", PASSWORD)

    result = make("setup", DATABASE_URL=database_url())
    assert result.returncode == 0, result.stdout + result.stderr
    assert not Order.objects.exists()
    assert "make run DEMO=1 loads it" in result.stdout

    result = make("setup", "DEMO=1", DATABASE_URL=database_url())
    assert result.returncode == 0, result.stdout + result.stderr
    assert Order.objects.filter(order_number__startswith="DEMO-").count() == len(STORIES) + HISTORY
    assert as_stored("owner")[0] == owner.password


def test_make_run_loads_demo_data_by_default_only_into_the_embedded_database():
    """A dry run (-n) shows the decision: nothing is run, so the embedded file is not touched."""
    embedded = make("-n", "setup", DATABASE_URL=None)
    elsewhere = make("-n", "setup", DATABASE_URL="postgres://postgres@127.0.0.1:5432/shop")
    assert embedded.returncode == elsewhere.returncode == 0
    assert 'if [ "1" = 1 ]; then' in embedded.stdout
    assert 'if [ "0" = 1 ]; then' in elsewhere.stdout
