from hypothesis import given
from hypothesis import strategies as st

from clinic.accounts.validators import normalize_phone, valid_id_number


def test_phones():
    assert normalize_phone("138-1234-5678") == "13812345678"
    assert normalize_phone("+86 138 1234 5678") == "13812345678"
    assert normalize_phone("+4420 7946 0958") == "+442079460958"
    assert normalize_phone("23812345678") is None
    assert normalize_phone("hello") is None
    assert normalize_phone("") is None


def test_id_numbers():
    assert valid_id_number("11010519491231002X")
    assert valid_id_number("11010519491231002x")
    assert not valid_id_number("110105194912310021")
    assert not valid_id_number("1101051949123100")


@given(st.text(max_size=40))
def test_validators_never_raise(text):
    normalize_phone(text)
    valid_id_number(text)
