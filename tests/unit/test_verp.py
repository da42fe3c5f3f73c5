"""VERP return paths: they map back to the message and recipient, and cannot be forged."""

from hypothesis import given, settings
from hypothesis import strategies as st

from maildispatch.core.verp import parse_return_path, return_path, verp_id

SECRET = b"k" * 32


def test_a_return_path_maps_back_to_its_message_and_recipient():
    address = return_path("order-1001", "Binh@Example.net", secret=SECRET, domain="bounce.example.com")
    local, domain = address.split("@")
    assert domain == "bounce.example.com" and local.startswith("bounces+") and len(local) <= 64
    token = parse_return_path(address, secret=SECRET)
    assert token is not None and token.id == verp_id("order-1001", "binh@example.net")


def test_some_mtas_lower_or_upper_case_the_local_part_and_angle_brackets_surround_it():
    address = return_path("order-1001", "binh@example.net", secret=SECRET, domain="bounce.example.com")
    assert parse_return_path(f"<{address.upper()}>", secret=SECRET) is not None


def test_a_forged_or_altered_token_is_rejected():
    address = return_path("order-1001", "binh@example.net", secret=SECRET, domain="bounce.example.com")
    local, domain = address.split("@")
    forged_id = local[:8] + ("a" if local[8] != "a" else "b") + local[9:]
    assert parse_return_path(f"{forged_id}@{domain}", secret=SECRET) is None
    assert (
        parse_return_path(
            return_path("order-1001", "victim@example.org", secret=b"guess", domain=domain), secret=SECRET
        )
        is None
    )
    assert parse_return_path("bounces@bounce.example.com", secret=SECRET) is None
    assert parse_return_path("shop@example.com", secret=SECRET) is None


@settings(max_examples=100, deadline=None)
@given(key=st.text(min_size=1, max_size=200), recipient=st.emails())
def test_every_message_and_recipient_round_trips(key, recipient):
    token = parse_return_path(return_path(key, recipient, secret=SECRET, domain="b.example"), secret=SECRET)
    assert token is not None and token.id == verp_id(key, recipient)
