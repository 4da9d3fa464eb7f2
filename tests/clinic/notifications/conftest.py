import pytest


@pytest.fixture(autouse=True)
def _english(settings):
    # Texts are rendered in LANGUAGE_CODE; these tests read the English source strings.
    settings.LANGUAGE_CODE = "en"
