"""Pages whose address carries a token (door, payment QR, a question's link): a stray byte or an
over-long token is a 404, never a query that fails."""

import pytest


@pytest.mark.parametrize(
    "path", ["/pay/%00", "/d/%00", "/ask/%00/", "/d/" + "x" * 65, "/pay/a%20b", "/ask/%E4%BD%A0/", "/d/lobby%00"]
)
def test_a_malformed_token_is_a_404(db, anon, path):
    assert anon.get(path).status_code == 404
