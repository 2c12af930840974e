#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    # manage.py is the developer's entry point: DEBUG is on unless the environment says
    # otherwise. Served processes (gunicorn shop.wsgi) start with DEBUG off and need SECRET_KEY.
    os.environ.setdefault("DEBUG", "1")
    # The statement timeout protects served requests; a command an operator runs (migrate on a
    # large database, an import) is not cut off unless the environment asks for it.
    if sys.argv[1:2] != ["runserver"]:
        os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT_MS", "0")
    from django.core.management import execute_from_command_line

    from shop.startup import one_line_errors

    with one_line_errors("manage.py", traceback="--traceback" in sys.argv):
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
