"""The client in a real browser: Debian's Chromium loads ``clients/js/src`` as ES modules (an
import map for ``qs-esm``, no bundler) on a storefront page whose ``/api/`` is the live server,
logs a customer in, lists their orders, and refuses secret keys."""

from urllib.parse import urlsplit

import pytest

from orders.models import Order
from tests.admin.browser import chromium  # noqa: F401 (the browser fixture)
from tests.client.test_documents import CLIENT, PASSWORD, Shop, _node_or_skip

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

ORIGIN = "http://storefront.test"
PAGE = """<!doctype html>
<html><head>
<script type="importmap">{"imports": {"qs-esm": "/qs-esm/index.js"}}</script>
</head><body>storefront</body></html>"""
FILES = {"/client/": CLIENT / "src", "/qs-esm/": CLIENT / "node_modules" / "qs-esm" / "lib"}

SCRIPT = """async ({ publishableKey, email, password, customerId, othersOrder }) => {
  const { createClient, createServerClient, generateOrderNumber, ApiError } =
    await import('/client/index.js')
  const refusals = []
  for (const make of [
    () => createServerClient({ publishableKey, secretKey: 'sk_leaked' }),
    () => createClient({ publishableKey, secretKey: 'sk_leaked' }),
  ]) {
    try { make(); refusals.push(null) } catch (error) { refusals.push(error.message) }
  }
  const client = createClient({ publishableKey })  // the API is on the page's own origin
  const session = await client.auth.login({ email, password })
  const { docs } = await client.from('orders').find({
    where: { customer: { equals: customerId } }, sort: '-createdAt', limit: 10,
  })
  let refused = null
  try { await client.from('orders').findById(othersOrder) } catch (error) {
    refused = { apiError: error instanceof ApiError, status: error.status, errors: error.errors }
  }
  await client.auth.logout()
  return {
    user: session.user.id, orders: docs.map((doc) => doc.id), refused, refusals,
    token: client.auth.getToken(), number: generateOrderNumber(),
  }
}"""


def test_the_client_runs_in_a_browser(chromium, live_server, transactional_db):  # noqa: F811
    _node_or_skip()
    shop = Shop()
    others = Order.objects.filter(customer=shop.other).get()
    sent = []

    def serve(route):
        url = urlsplit(route.request.url)
        sent.append(route.request.headers)
        if url.path == "/":
            return route.fulfill(body=PAGE, content_type="text/html")
        if url.path.startswith("/api/"):
            answer = route.fetch(url=f"{live_server.url}{url.path}?{url.query}")
            return route.fulfill(response=answer)
        for prefix, folder in FILES.items():
            if url.path.startswith(prefix):
                file = folder / url.path.removeprefix(prefix)
                return route.fulfill(path=str(file), content_type="text/javascript")
        return route.fulfill(status=404, body="")

    context = chromium.new_context()
    try:
        context.route(f"{ORIGIN}/**", serve)
        page = context.new_page()
        page.goto(f"{ORIGIN}/")
        result = page.evaluate(
            SCRIPT,
            {
                "publishableKey": shop.keys.key.publishable_key,
                "email": shop.customer.email,
                "password": PASSWORD,
                "customerId": shop.customer.pk,
                "othersOrder": others.pk,
            },
        )
    finally:
        context.close()

    mine = Order.objects.filter(customer=shop.customer).order_by("-created_at", "-id")
    assert result["user"] == shop.customer.pk
    assert result["orders"] == list(mine.values_list("pk", flat=True))
    assert result["refused"] == {
        "apiError": True,
        "status": 404,
        "errors": [{"message": "Not Found"}],
    }
    server_refusal, client_refusal = result["refusals"]
    assert "secret key must never reach a browser" in server_refusal
    assert "secret key must never be sent from a browser" in client_refusal
    assert result["token"] is None
    assert result["number"][6] == "-" and len(result["number"]) == 15
    assert not any("sk_" in value for headers in sent for value in headers.values())
