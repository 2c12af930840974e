from tests.admin.browser import chromium  # noqa: F401 (the browser fixture)
