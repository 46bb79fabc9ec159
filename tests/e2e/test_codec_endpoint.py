"""The codec endpoint as the Temporal Web UI calls it: real HTTP over loopback to the app, the
payloads taken from a real complaint's history on the dev server (encrypted by the workers'
codec), the keys from a real key file. The UI runs on another origin, so CORS is checked too."""

from __future__ import annotations

import asyncio
import base64
import re
import subprocess

import httpx
import pytest
from temporalio.api.common.v1 import Payload

from api.app import create_app
from engine.binaries import temporal_cli
from engine.service import ComplaintService
from security.codec import ENCODING, REFUSED
from tests.e2e.conftest import Stack, bearer, form, serving
from tests.keys import CONVERTER
from tests.unit.helpers import POLICY

UI_ORIGIN = "http://127.0.0.1:8233"  # the dev server's Web UI, as `complaints run` starts it
DESCRIPTION = "The codec test's charger melted"


@pytest.fixture(scope="module")
async def codec_api(stack: Stack, api_keys):
    """The API as `complaints run` serves it to the UI: the codec origin allowed."""
    service = ComplaintService(stack.client, stack.task_queue, POLICY, stack.store)
    app = create_app(service, api_keys=api_keys[0], codec_origins=[UI_ORIGIN])
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=20) as http:
        yield http


@pytest.fixture(scope="module")
async def started(stack: Stack) -> tuple[str, list[Payload]]:
    """A real complaint and its start input, as it lies in Temporal's history."""
    cid = (await stack.submit(form(description=DESCRIPTION))).json()["id"]
    history = await stack.client.get_workflow_handle(cid).fetch_history()
    payloads = list(history.events[0].workflow_execution_started_event_attributes.input.payloads)
    assert payloads and all(p.metadata["encoding"] == ENCODING for p in payloads)
    assert DESCRIPTION.encode() not in b"".join(p.SerializeToString() for p in payloads)
    return cid, payloads


@pytest.fixture(scope="module")
def started_input(started) -> list[Payload]:
    return started[1]


def wire(payloads) -> dict:
    """Payloads in the protocol's JSON form (protobuf's: bytes in base64)."""
    return {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                "data": base64.b64encode(p.data).decode(),
            }
            for p in payloads
        ]
    }


def from_wire(body: dict) -> list[Payload]:
    return [
        Payload(
            metadata={k: base64.b64decode(v) for k, v in p.get("metadata", {}).items()},
            data=base64.b64decode(p.get("data", "")),
        )
        for p in body["payloads"]
    ]


def ui_headers(key: str | None = None) -> dict[str, str]:
    """What the UI sends: its origin, JSON, the namespace; a key when it has one."""
    headers = {"Origin": UI_ORIGIN, "Content-Type": "application/json", "X-Namespace": "default"}
    return headers | (bearer(key) if key else {})


async def test_the_ui_decode_call_shows_a_supervisor_the_complaint_in_clear(
    codec_api, started_input, stack
):
    response = await codec_api.post(
        "/codec/decode", json=wire(started_input), headers=ui_headers(stack.keys["supervisor"])
    )
    assert response.status_code == 200, response.text
    decoded = from_wire(response.json())
    assert decoded == await CONVERTER.payload_codec.decode(started_input)
    assert DESCRIPTION.encode() in b"".join(p.data for p in decoded)
    assert decoded[0].metadata["encoding"] == b"json/plain"
    # The browser lets the UI's page read the answer, cookies and all.
    assert response.headers["access-control-allow-origin"] == UI_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"


@pytest.mark.parametrize(
    ("holder", "status", "rule"),
    [(None, 401, "missing"), ("agent.chen", 403, "role_forbidden"), ("intake", 403, None)],
)
async def test_without_a_supervisor_key_nothing_is_decoded(
    codec_api, started_input, stack, holder, status, rule
):
    key = stack.keys[holder] if holder else None
    response = await codec_api.post(
        "/codec/decode", json=wire(started_input), headers=ui_headers(key)
    )
    assert response.status_code == status
    assert DESCRIPTION not in response.text
    if rule:
        assert response.json()["detail"][0]["rule"] == rule  # JSON, not the login page
    # The UI can tell a refusal from a network failure: the answer is readable to it.
    assert response.headers["access-control-allow-origin"] == UI_ORIGIN


async def test_an_admin_decodes_too_and_an_unknown_key_is_401(codec_api, started_input, stack):
    admin = await codec_api.post(
        "/codec/decode", json=wire(started_input), headers=ui_headers(stack.keys["admin"])
    )
    unknown = await codec_api.post(
        "/codec/decode", json=wire(started_input), headers=ui_headers("not-a-key")
    )
    assert (admin.status_code, unknown.status_code) == (200, 401)


async def test_a_supervisor_signed_in_is_recognised_by_the_cookie_the_ui_sends(
    codec_api, started_input, stack
):
    # The UI's "include credentials": the browser sends the sign-in cookie of the API's site.
    signed_in = await codec_api.post(
        "/login",
        data={"key": stack.keys["supervisor"]},
        headers={"Origin": str(codec_api.base_url).rstrip("/")},
    )
    assert signed_in.status_code == 303 and codec_api.cookies
    response = await codec_api.post("/codec/decode", json=wire(started_input), headers=ui_headers())
    codec_api.cookies.clear()
    assert response.status_code == 200
    assert DESCRIPTION.encode() in b"".join(p.data for p in from_wire(response.json()))


async def test_the_preflight_allows_the_ui_origin_with_its_headers_and_no_other(codec_api):
    ask = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    allowed = await codec_api.options("/codec/decode", headers=ask | {"Origin": UI_ORIGIN})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == UI_ORIGIN
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "POST" in allowed.headers["access-control-allow-methods"]
    granted = allowed.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "x-namespace"} <= set(
        granted.replace(" ", "").split(",")
    )

    elsewhere = await codec_api.options(
        "/codec/decode", headers=ask | {"Origin": "https://evil.example"}
    )
    assert elsewhere.status_code == 400
    assert "access-control-allow-origin" not in elsewhere.headers
    # Only the codec is cross-origin: the API and the pages stay same-origin.
    api = await codec_api.options("/api/complaints", headers=ask | {"Origin": UI_ORIGIN})
    assert "access-control-allow-origin" not in api.headers


async def test_encode_then_decode_round_trips_and_the_workers_accept_what_it_encodes(
    codec_api, stack
):
    clear = Payload(metadata={"encoding": b"json/plain"}, data=b'{"note": "typed in the UI"}')
    headers = ui_headers(stack.keys["supervisor"])
    encoded = await codec_api.post("/codec/encode", json=wire([clear]), headers=headers)
    assert encoded.status_code == 200
    [sealed] = from_wire(encoded.json())
    assert sealed.metadata["encoding"] == ENCODING and b"typed in the UI" not in sealed.data
    assert await CONVERTER.payload_codec.decode([sealed]) == [clear]  # what a worker reads
    decoded = await codec_api.post("/codec/decode", json=encoded.json(), headers=headers)
    assert from_wire(decoded.json()) == [clear]


async def test_plaintext_is_shown_as_it_is_though_a_worker_refuses_it(codec_api, stack):
    # A search attribute or patch marker in the same event as ciphertext must not blank the
    # event in the UI; what acts on payloads (the workers) refuses plaintext.
    clear = Payload(metadata={"encoding": b"json/plain"}, data=b'"injected"')
    response = await codec_api.post(
        "/codec/decode", json=wire([clear]), headers=ui_headers(stack.keys["supervisor"])
    )
    assert response.status_code == 200 and from_wire(response.json()) == [clear]
    [refused] = await CONVERTER.payload_codec.decode([clear])
    assert refused.metadata["encoding"] == REFUSED


async def test_bad_requests_name_the_field_and_the_rule(codec_api, started_input, stack):
    headers = ui_headers(stack.keys["supervisor"])
    tampered = Payload()
    tampered.CopyFrom(started_input[0])
    tampered.data = tampered.data[:-1] + bytes([tampered.data[-1] ^ 1])
    cases = {
        "undecryptable": await codec_api.post(
            "/codec/decode", json=wire([tampered]), headers=headers
        ),
        "codec_protocol": await codec_api.post(
            "/codec/decode", json={"payloadz": []}, headers=headers
        ),
        "unknown_namespace": await codec_api.post(
            "/codec/decode", json=wire(started_input), headers=headers | {"X-Namespace": "other"}
        ),
    }
    assert {rule: r.status_code for rule, r in cases.items()} == {
        "undecryptable": 400,
        "codec_protocol": 422,
        "unknown_namespace": 400,
    }
    for rule, response in cases.items():
        assert response.json()["detail"][0]["rule"] == rule
        assert DESCRIPTION not in response.text


async def test_the_cli_shows_the_history_in_clear_with_the_readme_flags(
    codec_api, started, stack, temporal
):
    cid, _ = started
    show = [temporal_cli(), "workflow", "show", "--workflow-id", cid, "--output", "json",
            "--address", temporal.client.service_client.config.target_host,
            "--codec-endpoint", f"{str(codec_api.base_url).rstrip('/')}/codec"]  # fmt: skip
    without_codec = await _run(show[:-2])
    shown = await _run([*show, "--codec-auth", f"Bearer {stack.keys['supervisor']}"])
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert DESCRIPTION in _decoded_data(shown.stdout)
    assert DESCRIPTION not in _decoded_data(without_codec.stdout)  # ciphertext without it


async def _run(command: list[str]) -> subprocess.CompletedProcess:
    return await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=60
    )


def _decoded_data(output: str) -> str:
    """The clear text of every payload in `temporal workflow show --output json`."""
    found = re.findall(r'"data":\s*"([A-Za-z0-9+/=]+)"', output)
    return "".join(base64.b64decode(d).decode(errors="replace") for d in found) + output
