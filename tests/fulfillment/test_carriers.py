"""Known carriers get a name and a tracking link; anything else is free text without a link."""

import pytest

from fulfillment.carriers import CARRIERS, carrier_choices, find_carrier, tracking_link
from fulfillment.models import Fulfillment
from orders.models import Order


@pytest.mark.parametrize("code", sorted(CARRIERS))
def test_every_known_carrier_links_its_tracking_page(code):
    carrier = CARRIERS[code]
    assert carrier.name and carrier.code == code
    assert "{number}" in carrier.tracking_url
    link = tracking_link(code, " 1234 5678/9 ")
    assert link.startswith("https://")
    # Linked as stored: spaces and dashes dropped, anything else still quoted.
    assert link == carrier.tracking_url.format(number="12345678%2F9")


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("cj", "cj"),
        ("CJ", "cj"),
        (" CJ Logistics ", "cj"),
        ("cj대한통운", "cj"),
        ("FedEx", "fedex"),
        ("우체국", "epost"),
        ("Hanjin Express", "hanjin"),
    ],
)
def test_carriers_are_found_by_code_or_name(typed, code):
    assert find_carrier(typed) is CARRIERS[code]


@pytest.mark.parametrize("typed", ["Bob's Van Service", "", None, "c j"])
def test_any_other_carrier_is_free_text_without_a_link(typed):
    assert find_carrier(typed) is None
    assert tracking_link(typed, "1234") is None


def test_no_link_without_a_tracking_number():
    assert tracking_link("cj", "") is None
    assert tracking_link("cj", None) is None


def test_choices_list_every_known_carrier():
    assert dict(carrier_choices()) == {c.code: c.name for c in CARRIERS.values()}


def test_a_parcel_shows_the_carrier_name_and_link():
    order = Order(order_number="C-1")
    known = Fulfillment(order=order, carrier="ups", tracking_number="1Z99")
    assert known.carrier_name == "UPS"
    assert known.tracking_url == "https://www.ups.com/track?tracknum=1Z99"
    free = Fulfillment(order=order, carrier="Neighbourhood courier", tracking_number="A-7")
    assert free.carrier_name == "Neighbourhood courier"
    assert free.tracking_url is None
