"""Known carriers: a code, a display name and a tracking link. Any other carrier is free text.

Also the one spelling of a tracking number (``normalize_tracking_number``) that every way in
(creating and shipping a parcel, a correction, the API, the tracking import, the admin search)
stores and looks up.
"""

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

# What people type between the groups of a tracking number ("6123 4567 8901", "6123-4567-8901"):
# whitespace, the hyphen-minus and the Unicode hyphens, dashes and minus sign.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")


def normalize_tracking_number(value: str) -> str:
    """A tracking number as carriers print and look it up: full-width forms folded (NFKC),
    separators removed, letters upper-cased. ``6123 4567 8901`` → ``612345678901``."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", value)).upper()


@dataclass(frozen=True)
class Carrier:
    code: str
    name: str
    tracking_url: str  # with {number} where the tracking number goes

    def tracking_link(self, tracking_number: str) -> str:
        number = normalize_tracking_number(tracking_number)
        return self.tracking_url.format(number=quote(number, safe=""))


CARRIERS: dict[str, Carrier] = {
    c.code: c
    for c in [
        Carrier(
            "cj",
            "CJ Logistics",
            "https://trace.cjlogistics.com/next/tracking.html?wblNo={number}",
        ),
        Carrier(
            "hanjin",
            "Hanjin Express",
            "https://www.hanjin.com/kor/CMS/DeliveryMgr/WaybillResult.do?mCode=MN038&wblnum={number}",
        ),
        Carrier(
            "lotte",
            "Lotte Global Logistics",
            "https://www.lotteglogis.com/home/reservation/tracking/linkView?InvNo={number}",
        ),
        Carrier(
            "epost",
            "Korea Post",
            "https://service.epost.go.kr/trace.RetrieveDomRigiTraceList.comm?sid1={number}",
        ),
        Carrier(
            "logen",
            "Logen",
            "https://www.ilogen.com/web/personal/trace/{number}",
        ),
        Carrier("fedex", "FedEx", "https://www.fedex.com/fedextrack/?trknbr={number}"),
        Carrier("ups", "UPS", "https://www.ups.com/track?tracknum={number}"),
        Carrier("dhl", "DHL", "https://www.dhl.com/en/express/tracking.html?AWB={number}"),
        Carrier("usps", "USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}"),
    ]
}

# Names people type for the known carriers ("CJ Logistics", "FedEx") map to their codes.
_ALIASES = {c.name.lower(): c.code for c in CARRIERS.values()} | {
    "cj대한통운": "cj",
    "cj logistics": "cj",
    "우체국": "epost",
    "한진택배": "hanjin",
    "롯데택배": "lotte",
    "로젠택배": "logen",
}


def find_carrier(value: str | None) -> Carrier | None:
    """The known carrier a stored carrier value names (by code or name), or None for free text."""
    if not value:
        return None
    key = value.strip().lower()
    return CARRIERS.get(key) or CARRIERS.get(_ALIASES.get(key, ""))


def names_of(code: str) -> set[str]:
    """Every name a known carrier may be stored under (its code, its name, its aliases)."""
    if code not in CARRIERS:
        return {code}
    return {code, CARRIERS[code].name} | {a for a, target in _ALIASES.items() if target == code}


def tracking_link(carrier: str | None, tracking_number: str | None) -> str | None:
    found = find_carrier(carrier)
    if not found or not tracking_number:
        return None
    return found.tracking_link(tracking_number)


def carrier_choices() -> list[tuple[str, str]]:
    return [(c.code, c.name) for c in CARRIERS.values()]
