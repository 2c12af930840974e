"""An HTTPS deployment as .env.example documents it passes `check --deploy`, and every page sends
a Content-Security-Policy that allows no inline or eval'd script, which no page needs."""

import json
import secrets
import sys
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.urls import reverse

from tests.admin.shortcuts import place_order
from tests.shop.processes import ROOT, manage, run


def documented_production_environment() -> dict[str, str]:
    """The variables .env.example sets (comments skipped), with a real secret key instead of
    its placeholder."""
    env = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    assert env["SECRET_KEY"] == "change-me"
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    return env


def test_check_deploy_is_clean_with_the_documented_production_environment():
    env = documented_production_environment()
    assert env["DEBUG"] == "false" and env["SECURE_SSL_REDIRECT"] == "true"

    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_production_environment_turns_the_https_settings_on():
    names = ["SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    names += ["SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER"]
    probe = "import json; from django.conf import settings as s; "
    probe += f"print(json.dumps([getattr(s, name) for name in {names}]))"
    env = documented_production_environment()
    result = run([sys.executable, "-c", probe], DJANGO_SETTINGS_MODULE="shop.settings", **env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        True,
        31536000,
        True,
        True,
        True,
        ["HTTP_X_FORWARDED_PROTO", "https"],
    ]


@pytest.mark.django_db
@override_settings(
    SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")
)
def test_plain_http_is_redirected_to_https_except_the_health_check(client):
    response = client.get("/admin/login/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/admin/login/"
    assert client.get("/admin/login/", headers={"X-Forwarded-Proto": "https"}).status_code == 200
    assert client.get("/healthz").status_code == 200  # load balancers probe over http


# Content-Security-Policy


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parsed = {}
    for directive in policy.split(";"):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/admin/login/", "/api/docs", "/api/docs?script=", "/api/orders", "/healthz"]
)
def test_every_response_carries_a_policy_without_inline_script(client, path):
    policy = directives(client.get(path))
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]


class InlineCode(HTMLParser):
    """Collects what a policy without 'unsafe-inline' in script-src would block, and whether the
    page has inline styles."""

    def __init__(self):
        super().__init__()
        self.blocked: list[str] = []
        self.inline_styles = False
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.blocked.append(f"<{tag} {name}={value!r}>")
            if name in {"href", "src", "action"} and (value or "").lower().startswith(
                "javascript:"
            ):
                self.blocked.append(f"<{tag} {name}={value!r}>")
        if tag == "script" and "src" not in attributes:
            self._in_inline_script = attributes.get("type") not in {"application/json"}
        self.inline_styles |= tag == "style" or "style" in attributes

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_inline_script = False

    def handle_data(self, data):
        if self._in_inline_script and data.strip():
            self.blocked.append(f"<script>{data.strip()[:60]}…")


@pytest.mark.django_db
def test_no_page_needs_what_the_policy_blocks(client):
    """Inline scripts and handlers would be blocked: no page has one. Inline styles are allowed,
    and pages do use them."""
    order = place_order()
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw-12345678"))
    orders = reverse("admin:orders_order_changelist")
    selected = {"_selected_action": [order.pk]}
    pages = {
        "admin home": client.get(reverse("admin:index")),
        "order list": client.get(orders),
        "order page": client.get(reverse("admin:orders_order_change", args=[order.pk])),
        "packing slips": client.post(orders, {"action": "print_packing_slips", **selected}),
        "invoices": client.post(orders, {"action": "print_invoices", **selected}),
        "tracking import": client.get(reverse("admin:fulfillment_fulfillment_import")),
        "product form": client.get(reverse("admin:shop_product_add")),
        "API docs": client.get("/api/docs"),
    }
    client.logout()
    pages["login"] = client.get("/admin/login/")
    for name, response in pages.items():
        assert response.status_code == 200, name
        page = InlineCode()
        page.feed(response.content.decode())
        assert page.blocked == [], name
        if page.inline_styles:
            assert "'unsafe-inline'" in directives(response)["style-src"], name
