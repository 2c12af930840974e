"""Screenshots of the staff screens from the demo shop, for the README.

    uv run python docs/screenshots/take.py

It migrates a throwaway SQLite database, loads the demo shop (``seed_demo``), serves it on a free
local port and has headless Chromium (Debian's /usr/bin/chromium) photograph the home screen,
the order list, an order with its timeline, a tracking import preview, and a customer's page.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from tests.admin.browser import CHROMIUM, launch  # noqa: E402

USER, PASSWORD = "demo", "demo-screens-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env, *args) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return done.stdout.decode()


def main() -> None:
    if not CHROMIUM.exists():
        sys.exit(f"Chromium is needed at {CHROMIUM} (apt-get install chromium).")
    workdir = Path(tempfile.mkdtemp(prefix="shop-screens-"))
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{workdir / 'demo.sqlite3'}",
        "LANGUAGE_CODE": "en",
        "TIME_ZONE": "Asia/Seoul",
    }
    manage(env, "migrate", "--no-input")
    manage(env, "seed_demo")
    manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth.models import User;"
        f"User.objects.create_superuser({USER!r}, 'demo@example.com', {PASSWORD!r})",
    )
    facts = manage(
        env,
        "shell",
        "-c",
        "from orders.models import Order;"
        "from fulfillment.models import Fulfillment;"
        "from shop.models import Customer;"
        "print(Customer.objects.get(email='minji.kim@example.com').pk);"
        "print(Order.objects.get(order_number='DEMO-0014').pk);"
        "print(Order.objects.get(order_number='DEMO-0005').items.order_by('pk')[0].sku);"
        "print(Fulfillment.objects.get(order__order_number='DEMO-0008').tracking_number)",
    )
    customer_id, order_id, sku, shipped_tracking = facts.strip().splitlines()[-4:]

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        shoot(base, customer_id, order_id, sku, shipped_tracking)
    finally:
        server.terminate()
        server.wait(timeout=10)


def shoot(base: str, customer_id: str, order_id: str, sku: str, shipped_tracking: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1600, "height": 900}, locale="en-US")
        page.goto(f"{base}/admin/login/")
        page.fill("#id_username", USER)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#charts")
        page.screenshot(path=HERE / "home.png", full_page=True)

        page.goto(f"{base}/admin/shop/customer/{customer_id}/change/")
        page.wait_for_selector("#customer-orders")
        page.screenshot(path=HERE / "customer.png", full_page=True)

        page.goto(f"{base}/admin/orders/order/")
        page.screenshot(path=HERE / "order-list.png", full_page=True)

        # The order page at the width staff work at: its two columns side by side.
        page.set_viewport_size({"width": 1366, "height": 768})
        page.goto(f"{base}/admin/orders/order/{order_id}/change/")
        page.wait_for_selector("#order-timeline")
        page.screenshot(path=HERE / "order.png", full_page=True)
        page.set_viewport_size({"width": 1600, "height": 900})

        page.goto(f"{base}/admin/fulfillment/fulfillment/import/")
        page.fill(
            "textarea[name=text]",
            "\n".join(
                [
                    "order number,carrier,tracking number,sku,quantity",
                    "DEMO-0004,cj,640100000001",
                    f"DEMO-0005,hanjin,512300000002,{sku},1",
                    "DEMO-0007,lotte,230500000003",
                    "DEMO-0001,cj,640100000004",
                    f"DEMO-0008,cj,{shipped_tracking}",
                    "DEMO-9999,epost,610300000006",
                ]
            ),
        )
        page.click("input[name=_preview]")
        page.wait_for_selector("#import-preview")
        page.screenshot(path=HERE / "import-preview.png", full_page=True)
        browser.close()
    for name in ("home", "customer", "order-list", "order", "import-preview"):
        print(HERE / f"{name}.png")


if __name__ == "__main__":
    main()
