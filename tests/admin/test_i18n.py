import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.admin.shortcuts import place_order

PO = Path(settings.BASE_DIR) / "locale" / "ko" / "LC_MESSAGES" / "django.po"


def test_every_string_of_ours_has_a_korean_translation():
    text = PO.read_text(encoding="utf-8")
    entries = text.split("\n\n")[1:]
    assert len(entries) > 100
    untranslated = [e for e in entries if re.search(r'^msgstr(\[0\])? ""$', e, re.M)]
    assert untranslated == []
    # The compiled catalog (committed: nothing compiles it at deploy time) is the same one.
    with (PO.parent / "django.mo").open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)
    for entry in entries:
        msgid = re.search(r'^msgid "(.*)"$', entry, re.M).group(1)
        if msgid and "\\" not in msgid:
            assert catalog.gettext(msgid) != msgid or msgid == "SKU", msgid


@pytest.mark.django_db
def test_home_and_order_page_in_korean(as_role):
    client = as_role("manager")
    home = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "결제 대기 중인 주문" in home
    assert "작업 대기열" in home
    order = place_order(paid=False)
    page = client.get(
        reverse("admin:orders_order_change", args=[order.pk]), HTTP_ACCEPT_LANGUAGE="ko"
    ).content.decode()
    assert "결제 완료 처리" in page  # the "Mark paid" button
    assert "결제 대기" in page  # the status badge
    assert "처리 이력" in page  # the timeline
    english = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Orders awaiting payment" in english


@pytest.mark.django_db
def test_model_and_field_names_in_korean(as_role):
    from tests.admin.shortcuts import deliver_everything

    client = as_role("manager")
    home = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    sections = ("주문과 결제", "출고와 배송", "반품과 교환", "상품과 고객")
    for label in (*sections, "최근 30일", "일별 주문"):
        assert label in home, label
    order = place_order()
    parcel = deliver_everything(order)
    page = client.get(
        reverse("admin:fulfillment_fulfillment_change", args=[parcel.pk]),
        HTTP_ACCEPT_LANGUAGE="ko",
    ).content.decode()
    assert f"주문 {order.order_number}의 출고 {parcel.pk}" in page  # its name, with the number
    assert re.search(r"<label>발송일:</label>", page)
    order_page = client.get(
        reverse("admin:orders_order_change", args=[order.pk]), HTTP_ACCEPT_LANGUAGE="ko"
    ).content.decode()
    for label in ("받는 분:", "우편번호:", "주소:", "상세 주소:", "직원 메모:"):
        assert re.search(rf"<label[^>]*>{label}</label>", order_page), label


@pytest.mark.django_db
def test_names_read_with_the_order_number_in_english(as_role):
    from tests.admin.shortcuts import deliver_everything

    order = place_order()
    parcel = deliver_everything(order)
    from django.utils import translation

    with translation.override("en"):
        assert str(parcel) == f"Fulfilment {parcel.pk} of order {order.order_number}"
    page = (
        as_role("manager")
        .get(reverse("admin:orders_order_change", args=[order.pk]))
        .content.decode()
    )
    for label in ("Recipient name:", "Address line 1:", "Address line 2:", "Postal code:"):
        assert re.search(rf"<label[^>]*>{label}</label>", page), label
