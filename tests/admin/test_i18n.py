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
