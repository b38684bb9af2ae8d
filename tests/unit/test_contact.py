import pytest

from bot.desk.contact import clean_name, display_phone, parse_contact_detail


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("Ana Ruiz", "Ana Ruiz"),
        ("my name is Seán O'Neil", "Seán O'Neil"),
        ("I'm Anne-Marie", "Anne-Marie"),
        ("call me J. R. Smith", "J. R. Smith"),
    ],
)
def test_names_are_read_without_their_introduction(typed, name):
    assert clean_name(typed) == name


@pytest.mark.parametrize(
    "typed",
    ["", "yes", "ok", "12345", "what is ketamine?", "x" * 90, "can I do this if I take lithium"],
)
def test_things_that_are_not_names_are_refused(typed):
    assert clean_name(typed) is None


@pytest.mark.parametrize(
    ("typed", "phone"),
    [
        ("555 123 4567", "+15551234567"),
        ("(212) 555-0123", "+12125550123"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phone_numbers_are_normalised(typed, phone):
    assert parse_contact_detail(typed).phone == phone


def test_phone_region_applies_to_numbers_without_a_country_code():
    assert parse_contact_detail("020 7946 0958", "GB").phone == "+442079460958"


@pytest.mark.parametrize("typed", ["ana@example.com", "my email is Ana@Example.com."])
def test_email_addresses_are_read_and_normalised(typed):
    assert parse_contact_detail(typed).email.lower() == "ana@example.com"


@pytest.mark.parametrize("typed", ["", "ana@", "12", "call me maybe", "1" * 30, "a@b"])
def test_anything_else_is_refused(typed):
    assert parse_contact_detail(typed) is None


@pytest.mark.parametrize(
    ("e164", "region", "shown"),
    [
        ("+15551234567", "US", "(555) 123-4567"),
        ("+442079460958", "US", "+44 20 7946 0958"),
        ("+442079460958", "GB", "020 7946 0958"),
        (None, "US", ""),
    ],
)
def test_phone_numbers_are_shown_as_people_write_them(e164, region, shown):
    assert display_phone(e164, region) == shown
