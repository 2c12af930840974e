"""The local staff login `make run` prints: made once, on a database without any superuser.

It never changes a user that exists (no new password, no promotion, no logged-out sessions), so
pointing `make run` at a real shop's database is harmless.
"""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = (
        "Create the local staff login 'admin' (a superuser) when the database has no superuser, "
        "and print its password. Never changes an existing user. For a developer's own machine: "
        "the password is kept in .local-admin-password."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument(
            "--password-file",
            type=Path,
            default=None,
            help="where the password is kept (default: .local-admin-password in the project)",
        )

    def handle(self, *args, username: str, password_file: Path | None, **options):
        secret_file = password_file or Path(settings.BASE_DIR) / ".local-admin-password"
        users = get_user_model().objects
        with transaction.atomic():
            if users.filter(is_superuser=True).exists():
                self._report_existing(users, username, secret_file)
                return
            if users.filter(username=username).exists():
                self.stdout.write(
                    f"User '{username}' exists and is not a superuser: left unchanged, no local "
                    "login created (make one with `manage.py createsuperuser`)."
                )
                return
            password = self._password(secret_file)
            users.create_superuser(username, email=f"{username}@localhost", password=password)
        self.stdout.write(f"Staff login: user '{username}', password '{password}'")

    def _report_existing(self, users, username: str, secret_file: Path) -> None:
        """Print the local login again when it is still ours; otherwise say nothing was made."""
        mine = users.filter(username=username, is_superuser=True).first()
        if mine is not None and secret_file.exists():
            password = secret_file.read_text().strip()
            # hashers.check_password, not user.check_password: that one may rewrite the hash.
            if password and check_password(password, mine.password):
                self.stdout.write(f"Staff login: user '{username}', password '{password}'")
                return
        self.stdout.write("A superuser exists already: no local login created, no user changed.")

    @staticmethod
    def _password(secret_file: Path) -> str:
        if secret_file.exists():
            password = secret_file.read_text().strip()
            if password:
                return password
        password = secrets.token_urlsafe(12)
        secret_file.write_text(password + "\n")
        secret_file.chmod(0o600)
        return password
