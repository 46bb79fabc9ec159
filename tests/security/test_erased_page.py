# ruff: noqa: F811  (pytest fixtures imported from the e2e suite are used as arguments)
"""The complaint page over real HTTP (dev server, worker, API): the customer before an erasure,
a clearly marked erased value after it."""

from store.erasure import erase_customer
from tests.e2e.conftest import api_keys, database, form, stack, store, temporal  # noqa: F401
from tests.keys import VAULT
from tests.security.conftest import SECRET


async def test_the_complaint_page_shows_the_customer_until_they_are_erased(stack):
    customer = SECRET.model_dump(mode="json", exclude_none=True)
    submitted = await stack.submit(form(customer=customer, external_ref="erase-page"))
    complaint_id = submitted.json()["id"]
    before = (await stack.http.get(f"/complaints/{complaint_id}")).text
    assert SECRET.name in before and "personal data erased" not in before

    erase_customer(stack.store, VAULT, complaint_id=complaint_id, by="dpo.wu")

    after = (await stack.http.get(f"/complaints/{complaint_id}")).text
    assert "personal data erased" in after
    assert SECRET.name not in after and SECRET.email not in after
