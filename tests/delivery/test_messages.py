"""Every kind of message in both languages."""

from datetime import UTC, datetime

import pytest

from delivery.messages import KINDS, UnknownKind, render

DETAILS = {
    "complaint_id": "C-42",
    "tier": 3,
    "team": "quality",
    "assignee": "agent.chen",
    "reason": "first_response",
    "level": 1,
    "deadline": "first_response",
    "due_at": "2026-11-25T02:10:00+00:00",
}
NOW = datetime(2026, 11, 25, 2, 45, tzinfo=UTC)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("locale", ["en", "zh"])
def test_every_kind_renders_in_both_languages(kind, locale):
    message = render(kind, locale, DETAILS, "http://127.0.0.1:8000/", recipient_name="Ann", now=NOW)
    assert "C-42" in message.subject and "C-42" in message.body
    assert "\n" not in message.subject and message.body.endswith("\n")
    has_chinese = any("\u4e00" <= ch <= "\u9fff" for ch in message.subject + message.body)
    assert has_chinese is (locale == "zh")


def test_links_and_lateness():
    escalation = render("escalation", "en", DETAILS, "http://127.0.0.1:8000/", now=NOW)
    assert "http://127.0.0.1:8000/complaints/C-42" in escalation.body
    assert "was 2026-11-25 02:10 UTC, now 35 min late" in escalation.body
    zh = render("escalation", "zh", DETAILS, "http://x", now=NOW, timezone="Asia/Shanghai")
    assert "时限为 2026-11-25 10:10 CST，已超时 35分钟" in zh.body
    link = "http://127.0.0.1:8000/c/C-42?t=signed"
    resolution = render("resolution", "en", DETAILS, "http://127.0.0.1:8000", customer_link=link)
    assert link in resolution.body
    early = datetime(2026, 11, 25, 2, 8, tzinfo=UTC)
    warning = render("deadline_warning", "en", DETAILS, "http://x", now=early)
    assert "2 min from now" in warning.body


def test_an_unknown_kind_or_locale():
    with pytest.raises(UnknownKind):
        render("birthday", "en", DETAILS, "http://x")
    assert render("assignment", "fr", DETAILS, "http://x").subject.startswith("Complaint")


@pytest.mark.parametrize(
    "kind",
    ["response", "initial_solution", "information_request", "information_reminder", "resolution"],
)
@pytest.mark.parametrize("locale", ["en", "zh"])
def test_the_customer_reads_the_agents_own_words(kind, locale):
    words = "Your refund of 120 yuan was sent today. 退款已于今日发出。"
    message = render(kind, locale, DETAILS | {"text": words}, "http://x", recipient_name="Ann")
    assert words in message.body


def test_a_customer_message_without_a_page_link_says_how_to_answer():
    plain = render("information_request", "en", DETAILS, "http://x")
    assert "reply to this e-mail" in plain.body and "http" not in plain.body
