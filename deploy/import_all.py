"""Import every module of the product (clinic, api, workflows, hardware), migrations included,
with Django set up: run with a production install's Python, it shows that requirements.txt alone
brings everything the product imports (nothing borrowed from the dev requirements).

Run: python deploy/import_all.py  (exit 1 and the failures listed if any module does not import)
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("clinic", "api", "workflows", "hardware")


def modules() -> list[str]:
    names = []
    for package in PACKAGES:
        names.append(package)
        path = [str(ROOT / package)]
        names += [info.name for info in pkgutil.walk_packages(path, prefix=f"{package}.")]
    return sorted(names)


def main() -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    import django

    django.setup()
    failed = []
    names = modules()
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:
            failed.append((name, traceback.format_exc(limit=3)))
    for name, trace in failed:
        print(f"FAILED {name}\n{trace}", file=sys.stderr)
    print(f"imported {len(names) - len(failed)} of {len(names)} modules with {sys.executable}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
