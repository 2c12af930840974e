"""Customer emails through a real SMTP server process (aiosmtpd): sent after the change commits,
in the customer's language, from the shop's name with its reply-to, the shipped one with the
tracking link; their HTML renders in Chromium (screenshots in docs/screenshots/)."""

import mailbox
import socket
import subprocess
import sys
import time
from email.message import Message
from email.utils import parseaddr
from pathlib import Path

import pytest

from fulfillment import services as fulfillment_services
from returns import services as return_services
from tests.factories import CustomerFactory, ProductFactory
from tests.helpers import all_units, place_order

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(tmp_path, settings):
    """aiosmtpd in its own process, storing what it receives in a maildir; Django sends to it."""
    port = free_port()
    maildir = tmp_path / "maildir"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            str(maildir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the SMTP server did not start")
                time.sleep(0.1)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.SHOP_NAME = "Seoul Linen"
        settings.SHOP_REPLY_TO = "help@seoul-linen.example"
        settings.DEFAULT_FROM_EMAIL = "Seoul Linen <orders@seoul-linen.example>"
        yield lambda: [message for _key, message in mailbox.Maildir(maildir).items()]
    finally:
        process.kill()
        process.wait(timeout=10)


def part(message: Message, content_type: str) -> str:
    for piece in message.walk():
        if piece.get_content_type() == content_type:
            return piece.get_payload(decode=True).decode(piece.get_content_charset())
    raise AssertionError(f"no {content_type} part")


def subject(message: Message) -> str:
    from email.header import decode_header, make_header

    return str(make_header(decode_header(message["Subject"])))


def test_customer_emails_reach_an_smtp_server_in_the_customers_language(smtp):
    korean = CustomerFactory(name="김민지", email="minji@example.com", language="ko")
    english = CustomerFactory(name="Jo Park", email="jo@example.com", language="en")
    linen = ProductFactory(title="Linen shirt", price=59000)
    ko_order = place_order(customer=korean, products=[linen], quantities=(2,))
    en_order = place_order(customer=english, products=[linen], quantities=(1,))
    parcel = fulfillment_services.ship_new_fulfillment(
        order=ko_order, carrier="cj", tracking_number="640123456789"
    )
    fulfillment_services.ship_new_fulfillment(
        order=en_order, carrier="hanjin", tracking_number="512345678901"
    )
    fulfillment_services.deliver_fulfillment(fulfillment=parcel)
    request = return_services.request_return(
        order=ko_order, reason="defective", items=all_units(ko_order)
    )
    return_services.approve_return(request=request)
    return_services.receive_return(request=request)
    return_services.complete_return(request=request)

    received = smtp()
    to = {}
    for message in received:
        to.setdefault(parseaddr(message["To"])[1], []).append(message)
    assert sorted(subject(m) for m in to["jo@example.com"]) == sorted(
        [
            f"[Seoul Linen] Your order {en_order.order_number} is confirmed",
            f"[Seoul Linen] Your order {en_order.order_number} is on its way",
        ]
    )
    assert sorted(subject(m) for m in to["minji@example.com"]) == sorted(
        [
            f"[Seoul Linen] 주문 {ko_order.order_number} 결제가 완료되었습니다",
            f"[Seoul Linen] 주문 {ko_order.order_number} 상품이 출발했습니다",
            f"[Seoul Linen] 주문 {ko_order.order_number} 배송이 완료되었습니다",
            f"[Seoul Linen] 주문 {ko_order.order_number} 반품이 승인되었습니다",
            f"[Seoul Linen] 주문 {ko_order.order_number} 환불이 완료되었습니다",
        ]
    )
    for message in received:
        assert parseaddr(message["From"]) == ("Seoul Linen", "orders@seoul-linen.example")
        assert message["Reply-To"] == "help@seoul-linen.example"
        assert part(message, "text/plain").strip() and "<html" in part(message, "text/html")
    shipped_ko = next(m for m in to["minji@example.com"] if "출발" in subject(m))
    link = parcel.tracking_url
    assert "640123456789" in link
    assert link in part(shipped_ko, "text/plain") and "CJ" in part(shipped_ko, "text/plain")
    assert f'href="{link}"' in part(shipped_ko, "text/html").replace("&amp;", "&")
    assert "배송 조회" in part(shipped_ko, "text/html")
    assert shipped_ko["Content-Language"] == "ko"
    shipped_en = next(m for m in to["jo@example.com"] if "on its way" in subject(m))
    assert "Track your parcel" in part(shipped_en, "text/html")
    refunded = next(m for m in to["minji@example.com"] if "환불" in subject(m))
    assert "118,000 KRW" in part(refunded, "text/plain")
    confirmation = next(m for m in to["jo@example.com"] if "confirmed" in subject(m))
    assert "Linen shirt" in part(confirmation, "text/plain")
    assert "59,000 KRW" in part(confirmation, "text/html")


def test_a_guest_order_is_written_in_the_shops_language_and_an_unreachable_server_is_retried(
    settings,
):
    from events.models import Delivery

    settings.LANGUAGE_CODE = "ko"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    place_order(quantities=(1,))  # a guest (no customer): john@example.com
    delivery = Delivery.objects.get(channel="email")
    assert (delivery.recipient, delivery.language) == ("john@example.com", "ko")
    assert delivery.status == "pending" and delivery.attempts == 1
    assert "Connection" in delivery.response_excerpt or "refused" in delivery.response_excerpt


@pytest.mark.browser
def test_the_emails_html_renders_in_chromium(smtp, chromium):
    korean = CustomerFactory(name="김민지", email="minji@example.com", language="ko")
    english = CustomerFactory(name="Jo Park", email="jo@example.com", language="en")
    products = [
        ProductFactory(title="Linen shirt / White / M", price=59000),
        ProductFactory(title="Cotton socks (3 pairs)", price=12000),
    ]
    ko_order = place_order(customer=korean, products=products, quantities=(1, 2))
    en_order = place_order(customer=english, products=products, quantities=(2, 1))
    parcel = fulfillment_services.ship_new_fulfillment(
        order=ko_order, carrier="cj", tracking_number="640123456789"
    )
    received = {(parseaddr(m["To"])[1], subject(m)): m for m in smtp()}
    shipped = next(m for (to, s), m in received.items() if to == korean.email and "출발" in s)
    confirmed = next(m for (to, s), m in received.items() if to == english.email and "confirm" in s)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = chromium.new_page(viewport={"width": 680, "height": 600})
    try:
        page.set_content(part(shipped, "text/html"))
        link = page.locator("a.tracking-link")
        assert link.is_visible()
        assert link.get_attribute("href") == parcel.tracking_url
        assert link.inner_text() == "배송 조회"
        assert page.locator("h1").inner_text().startswith(f"주문 {ko_order.order_number}")
        page.screenshot(path=str(SCREENSHOTS / "email-shipped-ko.png"), full_page=True)
        page.set_content(part(confirmed, "text/html"))
        assert page.get_by_text("Linen shirt / White / M").is_visible()
        assert page.get_by_text(f"{en_order.total_amount:,} KRW").last.is_visible()
        page.screenshot(path=str(SCREENSHOTS / "email-order-confirmation-en.png"), full_page=True)
    finally:
        page.close()
