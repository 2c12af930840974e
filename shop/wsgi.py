import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")

try:
    application = get_wsgi_application()
except ImproperlyConfigured as error:
    # A wrong setting (DATABASE_URL, SECRET_KEY, …) is one line, not a traceback per worker;
    # gunicorn prints an AppImportError's message and stops instead of restarting workers.
    try:
        from gunicorn.errors import AppImportError
    except ImportError:
        raise error from None
    raise AppImportError(f"shop.wsgi: {' '.join(str(error).split())}") from None
