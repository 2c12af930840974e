"""The product's URLs plus views that fail outside DRF (as a middleware would), to test what
Django's handler500 answers: the product's own handler."""

from django.db import connection
from django.urls import path

from shop import urls
from tests.reliability.test_database_failures import terminate


def lost_connection(request):
    terminate(connection.connection.info.backend_pid)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def bug(request):
    raise RuntimeError("a bug outside any API view")


handler500 = urls.handler500
urlpatterns = [
    path("api/lost-connection", lost_connection),
    path("api/bug", bug),
    path("bug", bug),
    *urls.urlpatterns,
]
