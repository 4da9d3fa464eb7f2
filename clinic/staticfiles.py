"""collectstatic without the `node_modules` folders that some packages ship among their static
files (viewflow's fonts): build leftovers whose CSS points at files that are not there, which
the manifest storage of production refuses, failing collectstatic."""

from django.contrib.staticfiles.apps import StaticFilesConfig


class ClinicStaticFilesConfig(StaticFilesConfig):
    ignore_patterns = [*StaticFilesConfig.ignore_patterns, "node_modules"]
