"""Each kind of caller over HTTP: how it gets in, what stops it, what it is recorded as."""

import time

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token

from orders.models import Order, OrderStatus, TransitionLog
from returns.models import Return
from shop import keys
from shop.models import ApiKey, Cart, CartItem, LoginFailure
from tests.auth.world import PASSWORD, CallerClient, build_world
from tests.factories import CartFactory, ProductFactory
from tests.helpers import deliver_everything, place_order

pytestmark = pytest.mark.django_db

FORBIDDEN = {"errors": [{"message": "You are not allowed to perform this action."}]}
BAD_LOGIN = {"errors": [{"message": "The email or password provided is incorrect."}]}


@pytest.fixture
def world():
    return build_world()


def storefront(world) -> CallerClient:
    return world.client("storefront")


def login(client: CallerClient, email: str, password: str):
    return client.request("POST", "/api/customers/login", {"email": email, "password": password})


# ---------------------------------------------------------------------------------------------
# Customers: login, me, logout


def test_a_customer_logs_in_the_payload_way_and_reads_their_orders(world):
    customer = world.a.customer
    before = int(time.time())
    answer = login(storefront(world), customer.email, PASSWORD)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"message", "user", "token", "exp"}
    assert body["message"] == "Authentication Passed"
    assert answer.cookies["payload-token"].value == body["token"]
    assert body["user"]["id"] == customer.pk
    assert body["user"]["email"] == customer.email
    assert body["user"]["collection"] == "customers"
    assert "password" not in body["user"]
    lifetime = keys.token_lifetime().total_seconds()
    assert before + lifetime <= body["exp"] <= time.time() + lifetime
    pk = world.headers["storefront"]["X-Publishable-Key"]
    for scheme in ("JWT", "Bearer"):
        client = CallerClient(
            {"X-Publishable-Key": pk, "Authorization": f"{scheme} {body['token']}"}
        )
        orders = client.get("/api/orders").json()
        assert {d["id"] for d in orders["docs"]} == world.a.ids()["orders"]
        me = client.get("/api/customers/me").json()
        assert me["user"]["id"] == customer.pk and me["collection"] == "customers"
        assert me["exp"] == body["exp"] and me["token"] == body["token"]
    logout = client.request("POST", "/api/customers/logout")
    assert logout.json() == {"message": "Logout successful."}


def test_me_without_a_customer_and_logout_without_one(world):
    assert storefront(world).get("/api/customers/me").json() == {"user": None, "message": "Account"}
    assert world.client("anonymous").get("/api/customers/me").status_code == 403
    out = storefront(world).request("POST", "/api/customers/logout")
    assert (out.status_code, out.json()) == (400, {"errors": [{"message": "No User"}]})


def test_login_needs_a_key(world):
    answer = login(world.client("anonymous"), world.a.customer.email, PASSWORD)
    assert (answer.status_code, answer.json()) == (403, FORBIDDEN)
    answer = login(world.client("revoked_key"), world.a.customer.email, PASSWORD)
    assert (answer.status_code, answer.json()) == (403, FORBIDDEN)
    assert not LoginFailure.objects.exists()


def test_a_failed_login_says_the_same_for_a_wrong_password_and_an_unknown_email(world):
    wrong = login(storefront(world), world.a.customer.email, "not it")
    unknown = login(storefront(world), "nobody@example.com", PASSWORD)
    assert (wrong.status_code, wrong.json()) == (401, BAD_LOGIN)
    assert (unknown.status_code, unknown.json()) == (401, BAD_LOGIN)
    assert LoginFailure.objects.count() == 2


def test_a_login_without_email_or_password_is_a_validation_error(world):
    answer = storefront(world).request("POST", "/api/customers/login", {"email": "a@b.c"})
    assert answer.status_code == 400
    error = answer.json()["errors"][0]
    assert error["name"] == "ValidationError"
    assert error["data"]["errors"] == [
        {"path": "password", "message": "This field is required.", "label": "Password"}
    ]
    assert not LoginFailure.objects.exists()  # not an attempt: nothing to throttle


@override_settings(SHOP_LOGIN_FAILURE_LIMIT=2)
def test_failed_logins_are_throttled_per_account(world):
    email = world.a.customer.email
    client = storefront(world)
    for _ in range(2):
        assert login(client, email, "guess").status_code == 401
    answer = login(client, email, PASSWORD)  # even the right password, for a while
    assert answer.status_code == 429
    assert answer.json() == {
        "errors": [
            {
                "message": "Too many failed login attempts. Try again later.",
                "name": "TooManyRequests",
            }
        ]
    }
    assert login(client, world.b.customer.email, PASSWORD).status_code == 200  # other accounts


@override_settings(SHOP_LOGIN_FAILURE_LIMIT=1)
def test_failed_logins_are_throttled_per_address(world):
    pk = world.headers["storefront"]["X-Publishable-Key"]
    client = Client(REMOTE_ADDR="10.1.2.3")
    for n in range(4):
        client.post(
            "/api/customers/login",
            {"email": f"guess{n}@example.com", "password": "x"},
            content_type="application/json",
            headers={"X-Publishable-Key": pk},
        )
    answer = client.post(
        "/api/customers/login",
        {"email": world.a.customer.email, "password": PASSWORD},
        content_type="application/json",
        headers={"X-Publishable-Key": pk},
    )
    assert answer.status_code == 429
    elsewhere = Client(REMOTE_ADDR="10.9.9.9").post(
        "/api/customers/login",
        {"email": world.a.customer.email, "password": PASSWORD},
        content_type="application/json",
        headers={"X-Publishable-Key": pk},
    )
    assert elsewhere.status_code == 200


def test_a_bad_or_expired_token_is_anonymous_not_an_error(world):
    pk = world.headers["storefront"]["X-Publishable-Key"]
    with override_settings(SHOP_CUSTOMER_TOKEN_SECONDS=-1):
        expired, _ = keys.issue_customer_token(
            world.a.customer, key=ApiKey.objects.get(name="Storefront")
        )
    for token in (expired, "not-a-token", world.a.token + "x"):
        client = CallerClient({"X-Publishable-Key": pk, "Authorization": f"JWT {token}"})
        assert client.get("/api/products").status_code == 200  # still the storefront
        answer = client.get("/api/orders")
        assert (answer.status_code, answer.json()) == (403, FORBIDDEN)
        assert client.get("/api/customers/me").json()["user"] is None


def test_a_customer_token_needs_the_storefronts_publishable_key(world):
    alone = CallerClient({"Authorization": f"JWT {world.a.token}"})
    assert alone.get("/api/orders").status_code == 403
    keys.revoke_api_key(key=ApiKey.objects.get(name="Storefront"))
    answer = world.client("customer_a").get("/api/orders")
    assert (answer.status_code, answer.json()) == (403, FORBIDDEN)


def test_a_password_change_or_deactivation_ends_the_customers_tokens(world):
    client = world.client("customer_a")
    assert client.get("/api/orders").status_code == 200
    world.a.customer.set_password("a new password")
    world.a.customer.save()
    assert client.get("/api/orders").status_code == 403
    world.b.customer.is_active = False
    world.b.customer.save()
    assert world.client("customer_b").get("/api/orders").status_code == 403


# ---------------------------------------------------------------------------------------------
# Servers


def test_a_revoked_secret_key_stops_working_at_once(world):
    client = world.client("server")
    assert client.get("/api/orders").status_code == 200
    keys.revoke_api_key(key=world.server_key)
    answer = client.get("/api/orders")
    assert (answer.status_code, answer.json()) == (403, FORBIDDEN)


def test_payloads_api_key_header_form_and_last_use(world):
    secret = world.headers["server"]["Authorization"].removeprefix("Bearer ")
    client = CallerClient({"Authorization": f"api-keys API-Key {secret}"})
    assert client.get("/api/orders").status_code == 200
    world.server_key.refresh_from_db()
    assert world.server_key.last_used_at is not None
    assert (
        CallerClient({"Authorization": f"api-keys {secret}"}).get("/api/orders").status_code == 403
    )


def test_a_publishable_key_is_not_a_secret_key(world):
    pk = world.headers["storefront"]["X-Publishable-Key"]
    assert CallerClient({"Authorization": f"Bearer {pk}"}).get("/api/orders").status_code == 403


def test_the_transition_log_records_each_caller(world):
    server = world.client("server")
    parcel = server.request("POST", "/api/fulfillments", {"order": world.a.paid.pk}).json()["doc"]
    server.request("PATCH", f"/api/fulfillments/{parcel['id']}", {"status": "packed"})
    packed = TransitionLog.objects.get(object_id=parcel["id"], target="packed")
    assert (packed.actor_kind, packed.actor_label) == ("api_key", "Server")

    delivered = place_order(customer=world.a.customer, products=[ProductFactory()])
    deliver_everything(delivered)
    answer = world.client("customer_a").request(
        "POST",
        "/api/returns",
        {
            "order": delivered.pk,
            "reason": "damaged",
            "items": [{"orderItem": delivered.items.get().pk}],
        },
    )
    assert answer.status_code == 201
    requested = TransitionLog.objects.filter(order=delivered, target="return_requested")
    assert requested.exists()
    label = f"customer:{world.a.customer.pk} {world.a.customer.email}"
    assert {(log.actor_kind, log.actor_label) for log in requested} == {("customer", label)}

    staff = world.client("staff_with")
    staff.request("PATCH", f"/api/orders/{world.a.pending.pk}", {"status": "paid"})
    paid = TransitionLog.objects.filter(order=world.a.pending, target="paid")
    assert paid.exists()  # the order and its payment
    assert {(log.actor_kind, log.actor_user, log.actor_label) for log in paid} == {
        ("staff", world.staff_with, "manager")
    }


def test_the_order_timeline_is_for_staff_and_servers(world):
    order = world.a.delivered.pk
    assert world.client("server").get(f"/api/orders/{order}/timeline").status_code == 200
    assert world.client("staff_with").get(f"/api/orders/{order}/timeline").status_code == 200
    for caller in ("customer_a", "storefront", "staff_without", "anonymous"):
        answer = world.client(caller).get(f"/api/orders/{order}/timeline")
        assert (answer.status_code, answer.json()) == (403, FORBIDDEN), caller


def test_checkout_is_the_servers(world):
    body = {"cartId": world.a.cart.pk}
    assert world.client("customer_a").request("POST", "/api/checkout", body).status_code == 403
    assert world.client("storefront").request("POST", "/api/checkout", body).status_code == 403
    answer = world.client("server").request("POST", "/api/checkout", body)
    assert answer.status_code == 201
    assert answer.json()["doc"]["customer"]["id"] == world.a.customer.pk


# ---------------------------------------------------------------------------------------------
# What a customer may write


def test_a_customers_cart_is_theirs_whatever_they_send(world):
    client = world.client("customer_a")
    made = client.request("POST", "/api/carts", {})
    assert made.status_code == 201
    assert Cart.objects.get(pk=made.json()["doc"]["id"]).customer == world.a.customer
    before = Cart.objects.count()
    answer = client.request("POST", "/api/carts", {"customer": world.b.customer.pk})
    assert (answer.status_code, answer.json()) == (403, FORBIDDEN)
    assert Cart.objects.count() == before


def test_a_customer_cannot_set_a_status_price_amount_or_another_customer(world):
    client = world.client("customer_a")
    counts = (CartItem.objects.count(), Return.objects.count())
    line = {"cart": world.a.cart.pk, **world.sellable, "quantity": 1}
    request = {
        "order": world.a.delivered.pk,
        "reason": "defective",
        "items": [{"orderItem": world.a.line.pk}],
    }
    refused = [
        ("POST", "/api/cart-items", {**line, "cart": world.b.cart.pk}),
        ("PATCH", f"/api/cart-items/{world.a.cart_item.pk}", {"cart": world.b.cart.pk}),
        ("POST", "/api/returns", {**request, "status": "approved"}),
        ("POST", "/api/returns", {**request, "refundAmount": 999999}),
        ("POST", "/api/returns", {**request, "order": world.b.delivered.pk}),
        ("POST", "/api/exchanges", {**request, "order": world.b.delivered.pk}),
        ("POST", "/api/returns", {**request, "order": world.a.pending.pk}),  # not delivered
        ("PATCH", f"/api/returns/{world.a.delivered.returns.get().pk}", {"status": "approved"}),
        ("PATCH", f"/api/orders/{world.a.pending.pk}", {"status": "paid"}),
        ("POST", "/api/transactions", {"order": world.a.pending.pk}),
        ("PATCH", f"/api/customers/{world.a.customer.pk}", {"name": "Me"}),
    ]
    for method, url, body in refused:
        answer = client.request(method, url, body)
        assert answer.status_code in (400, 403), (method, url, body, answer.json())
        assert set(answer.json()) == {"errors"}
    assert (CartItem.objects.count(), Return.objects.count()) == counts
    assert Order.objects.get(pk=world.a.pending.pk).status == OrderStatus.PENDING
    world.a.cart_item.refresh_from_db()
    assert world.a.cart_item.cart == world.a.cart
    # Someone else's order or cart reads exactly like one that does not exist.
    missing = client.request("POST", "/api/returns", {**request, "order": 999999}).json()
    theirs = client.request("POST", "/api/returns", {**request, "order": world.b.delivered.pk})
    assert theirs.json()["errors"][0]["data"]["errors"][0]["message"] == (
        missing["errors"][0]["data"]["errors"][0]["message"].replace(
            "999999", str(world.b.delivered.pk)
        )
    )


def test_a_customer_changes_their_open_cart_and_not_a_checked_out_one(world):
    client = world.client("customer_a")
    line = world.a.cart_item
    assert client.request("PATCH", f"/api/cart-items/{line.pk}", {"quantity": 3}).status_code == 200
    line.refresh_from_db()
    assert line.quantity == 3
    closed = CartFactory(customer=world.a.customer)
    world.client("server").request("POST", "/api/cart-items", {"cart": closed.pk, **world.sellable})
    assert (
        world.client("server").request("POST", "/api/checkout", {"cartId": closed.pk}).status_code
        == 201
    )
    answer = client.request("POST", "/api/cart-items", {"cart": closed.pk, **world.sellable})
    assert answer.status_code == 409
    assert client.request("DELETE", f"/api/carts/{closed.pk}").status_code == 409


def test_the_staff_note_is_not_the_customers(world):
    Order.objects.filter(pk=world.a.delivered.pk).update(staff_note="Rude on the phone.")
    customer, server = world.client("customer_a"), world.client("server")
    own = customer.get(f"/api/orders/{world.a.delivered.pk}").json()
    assert "staffNote" not in own and own["orderNumber"]
    assert "Rude" not in customer.get("/api/orders?depth=2").content.decode()
    items = customer.get(f"/api/order-items?depth=1&where[order][equals]={world.a.delivered.pk}")
    assert "staffNote" not in items.json()["docs"][0]["order"]
    for query in (
        "where[staffNote][like]=Rude",
        "where[order.staffNote][exists]=true",
    ):
        slug = "orders" if query.startswith("where[staffNote]") else "order-items"
        answer = customer.get(f"/api/{slug}?{query}")
        assert answer.status_code == 400, query
        assert answer.json()["errors"][0]["name"] == "QueryError"
    assert server.get(f"/api/orders/{world.a.delivered.pk}").json()["staffNote"] == (
        "Rude on the phone."
    )
    assert server.get("/api/orders?where[staffNote][like]=rude").json()["totalDocs"] == 1


def test_a_relation_to_someone_elses_document_stays_an_id(world):
    """A's order pointing at B's cart (a server may write that): B's cart is not expanded."""
    Order.objects.filter(pk=world.a.pending.pk).update(cart=world.b.cart)
    doc = world.client("customer_a").get(f"/api/orders/{world.a.pending.pk}?depth=2").json()
    assert doc["cart"] == world.b.cart.pk
    assert world.client("server").get(f"/api/orders/{world.a.pending.pk}").json()["cart"]["id"] == (
        world.b.cart.pk
    )


# ---------------------------------------------------------------------------------------------
# Staff


def staff_in(group: str, username: str) -> CallerClient:
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return CallerClient({"Authorization": f"Token {Token.objects.create(user=user).key}"})


def test_staff_run_only_their_groups_transitions(world):
    payments = staff_in("Payments", "pay")
    warehouse = staff_in("Warehouse", "ware")
    service = staff_in("Customer service", "cs")
    pending, paid = world.a.pending.pk, world.a.paid.pk
    assert (
        warehouse.request("PATCH", f"/api/orders/{pending}", {"status": "paid"}).status_code == 403
    )
    assert (
        payments.request("PATCH", f"/api/orders/{pending}", {"status": "paid"}).status_code == 200
    )
    assert payments.request("POST", "/api/fulfillments", {"order": paid}).status_code == 403
    made = warehouse.request("POST", "/api/fulfillments", {"order": paid})
    assert made.status_code == 201
    parcel = made.json()["doc"]["id"]
    assert (
        service.request("PATCH", f"/api/fulfillments/{parcel}", {"status": "packed"}).status_code
        == 403
    )
    assert (
        warehouse.request("PATCH", f"/api/fulfillments/{parcel}", {"status": "packed"}).status_code
        == 200
    )
    returned = world.a.delivered.returns.get().pk
    assert (
        warehouse.request("PATCH", f"/api/returns/{returned}", {"status": "approved"}).status_code
        == 403
    )
    assert (
        service.request("PATCH", f"/api/returns/{returned}", {"status": "approved"}).status_code
        == 200
    )
    # Every role reads orders; none edits the catalog or deletes anything.
    assert service.get("/api/orders").status_code == 200
    assert service.request("POST", "/api/products", {"title": "x"}).status_code == 403


def test_a_transition_permission_without_the_orders_edit_right_changes_only_the_status(world):
    user = User.objects.create_user("cashier", password="x", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_order"),
        Permission.objects.get(codename="run_payment_transitions"),
    )
    client = CallerClient({"Authorization": f"Token {Token.objects.create(user=user).key}"})
    url = f"/api/orders/{world.a.pending.pk}"
    assert client.request("PATCH", url, {"staffNote": "x"}).status_code == 403
    assert client.request("PATCH", url, {"status": "paid"}).status_code == 200


def test_staff_see_what_their_model_permissions_allow_even_in_expansions(world):
    user = User.objects.create_user("reader", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_order"))
    client = CallerClient({"Authorization": f"Token {Token.objects.create(user=user).key}"})
    doc = client.get(f"/api/orders/{world.a.delivered.pk}?depth=1").json()
    assert doc["customer"] == world.a.customer.pk  # an id: customers are not theirs to read
    assert doc["transactions"]["docs"] == [] and doc["items"]["docs"] == []
    assert client.get("/api/transactions").status_code == 403


def test_staff_by_admin_session_with_csrf_on_writes(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.staff_with)
    assert client.get("/api/orders").status_code == 200
    answer = client.post("/api/products", {"title": "x"}, content_type="application/json")
    assert (answer.status_code, answer.json()) == (403, FORBIDDEN)
    visitor = Client()
    visitor.force_login(User.objects.create_user("visitor", password="x"))  # not staff
    assert visitor.get("/api/orders").status_code == 403


def test_a_bad_staff_token_is_anonymous(world):
    answer = CallerClient({"Authorization": "Token not-a-token"}).get("/api/orders")
    assert (answer.status_code, answer.json()) == (403, FORBIDDEN)
    user = User.objects.create_user("former", password="x", is_staff=False)
    token = Token.objects.create(user=user).key
    assert CallerClient({"Authorization": f"Token {token}"}).get("/api/products").status_code == 403
