"""Customer links: signed, expiring, bound to the complaint and its customer (a property test,
derandomized, plus the cases it must always cover). The claim source here is a table of
complaint -> customer key id; the store's own (EventStore.customer_key) is covered in
tests/store/test_attachments.py and end to end."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from hypothesis import example, given, settings
from hypothesis import strategies as st

from security.customer_links import CustomerLinks, link_key
from tests.keys import KEYS

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CUSTOMERS = {"C-AAAAAAAAAAAA": "key-1", "C-BBBBBBBBBBBB": "key-2", "C-SAMECUSTOMER": "key-1"}
IDS = st.sampled_from(sorted(CUSTOMERS)) | st.from_regex(r"C-[A-Z2-7]{12}", fullmatch=True)
LINKS = CustomerLinks(link_key(KEYS.identity), "https://example.com/", timedelta(days=37),
                      CUSTOMERS.get)  # fmt: skip
HYPO = settings(max_examples=300, deadline=None, derandomize=True, database=None)


def token_of(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[1]


def test_a_link_opens_its_complaint_until_it_expires():
    url = LINKS.url_for("C-AAAAAAAAAAAA", NOW)
    assert url.startswith("https://example.com/my/C-AAAAAAAAAAAA/")
    token = token_of(url)
    assert LINKS.verify("C-AAAAAAAAAAAA", token, NOW + timedelta(days=36, hours=23))
    assert not LINKS.verify("C-AAAAAAAAAAAA", token, NOW + timedelta(days=37))
    assert token != token_of(LINKS.url_for("C-AAAAAAAAAAAA", NOW))  # each link its own nonce


def test_the_key_is_the_identity_keys_own_derivative_not_the_key_itself():
    assert LINKS.key != KEYS.identity and len(LINKS.key) == 32
    assert link_key(KEYS.identity) == LINKS.key  # the same after a restart


def test_a_link_names_the_customer_an_erased_customer_opens_nothing():
    token = LINKS.token_for("C-AAAAAAAAAAAA", NOW)
    # Same complaint, another customer (its key replaced): refused.
    replaced = {"C-AAAAAAAAAAAA": "key-9"}
    other = CustomerLinks(LINKS.key, LINKS.base_url, LINKS.lifetime, replaced.get)
    assert not other.verify("C-AAAAAAAAAAAA", token, NOW)
    erased = CustomerLinks(LINKS.key, LINKS.base_url, LINKS.lifetime, {}.get)
    assert not erased.verify("C-AAAAAAAAAAAA", token, NOW)


def test_another_servers_key_is_refused():
    foreign = CustomerLinks(link_key(b"\x07" * 32), LINKS.base_url, LINKS.lifetime, CUSTOMERS.get)
    assert not LINKS.verify("C-AAAAAAAAAAAA", foreign.token_for("C-AAAAAAAAAAAA", NOW), NOW)


@HYPO
@given(a=st.sampled_from(sorted(CUSTOMERS)), b=IDS)
@example(a="C-AAAAAAAAAAAA", b="C-SAMECUSTOMER")  # one customer's two complaints
@example(a="C-AAAAAAAAAAAA", b="C-BBBBBBBBBBBB")
def test_no_token_for_complaint_a_opens_complaint_b(a: str, b: str):
    token = LINKS.token_for(a, NOW)
    assert LINKS.verify(a, token, NOW)
    assert LINKS.verify(b, token, NOW) == (a == b)


@HYPO
@given(position=st.integers(0, 200), replacement=st.characters(codec="ascii"))
@example(position=0, replacement="9")  # a later expiry
@example(position=11, replacement="A")  # the nonce
@example(position=80, replacement="A")  # the MAC's last character
def test_a_tampered_token_is_refused(position: int, replacement: str):
    token = LINKS.token_for("C-AAAAAAAAAAAA", NOW)
    position %= len(token)
    tampered = token[:position] + replacement + token[position + 1 :]
    if tampered != token:
        assert not LINKS.verify("C-AAAAAAAAAAAA", tampered, NOW)


@HYPO
@given(junk=st.text(max_size=120))
@example(junk="")
@example(junk="..")
@example(junk="99999999999999999999.x.y")
@example(junk="²³.x.y")  # digits to str.isdigit, not to int()
def test_junk_is_refused_without_an_error(junk: str):
    assert not LINKS.verify("C-AAAAAAAAAAAA", junk, NOW)


def test_another_spelling_of_the_expiry_is_refused():
    token = LINKS.token_for("C-AAAAAAAAAAAA", NOW)
    assert not LINKS.verify("C-AAAAAAAAAAAA", "0" + token, NOW)
