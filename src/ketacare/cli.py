"""The `ketacare` command: Django's management commands under the product's name.

`ketacare demo`, `ketacare serve`, `ketacare worker`, `ketacare createstaff`, `ketacare audit
verify` and `ketacare inventory verify` are management commands of ketacare's apps; every other
Django command works too.
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketacare.settings")
    argv = sys.argv[1:]
    if argv[:1] == ["score"]:
        from ketacare.score_cli import main as score_main

        sys.exit(score_main(argv[1:]))
    if argv[:1] == ["eligibility"]:
        from ketacare.eligibility_cli import main as eligibility_main

        sys.exit(eligibility_main(argv[1:]))
    if argv[:1] == ["pk"]:
        from ketacare.pk_cli import main as pk_main

        sys.exit(pk_main(argv[1:]))
    if argv[:1] == ["demo"]:
        # The demo must pick its data directory and key before settings are read.
        _prepare_demo_environment(argv)
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.SECRET_KEY  # noqa: B018  (reading settings reports a misconfiguration early)
    except ImproperlyConfigured as error:
        sys.exit(f"ketacare: {error}")
    execute_from_command_line(["ketacare", *argv])


def _prepare_demo_environment(argv: list[str]) -> None:
    for i, arg in enumerate(argv):
        if arg == "--data-dir" and i + 1 < len(argv):
            os.environ["KETACARE_DATA_DIR"] = argv[i + 1]
        elif arg.startswith("--data-dir="):
            os.environ["KETACARE_DATA_DIR"] = arg.split("=", 1)[1]
    os.environ["KETACARE_DEMO"] = "1"
    os.environ.setdefault("KETACARE_INSECURE_COOKIES", "1")
