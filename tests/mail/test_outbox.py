"""The outbox: queued in the caller's transaction, delivered by a real SMTP exchange, retried after a
failure without losing the message, never sent twice, and never sent without a mail server."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from smeai.db import get_sessionmaker, utcnow
from smeai.mail import sender, service
from smeai.mail.models import OutboxMessage
from tests.mail.smtp import body


def _queue(session, to: str = "li@firm.cn", lang: str = "zh_Hans") -> OutboxMessage:
    params = {"name": "李工", "url": "http://x/verify-email?token=abc", "hours": 48}
    message = service.queue(session, to=to, template="verify_email", lang=lang, params=params)
    session.commit()
    return message


def test_a_queued_email_arrives_with_its_template_text(session, settings, smtp):
    _queue(session)
    _queue(session, to="en@firm.cn", lang="en")
    assert sender.send_now(settings) == (2, 0)
    (zh,) = smtp.to("li@firm.cn")
    assert zh["Subject"] == "请验证您的邮箱 — AI 应用赋能中心"
    assert "http://x/verify-email?token=abc" in body(zh) and "48 小时" in body(zh)
    (en,) = smtp.to("en@firm.cn")
    assert en["Subject"].startswith("Please verify your email")
    assert sender.send_now(settings) == (0, 0)  # sent once
    rows = service.list_messages(session)
    assert all(r.sent_at is not None and r.attempts == 1 for r in rows)


def test_a_failing_server_keeps_the_message_and_a_later_try_sends_it(session, settings, smtp):
    message = _queue(session)
    smtp.refuse = True
    assert sender.send_now(settings) == (0, 1)
    session.expire_all()
    row = session.get(OutboxMessage, message.id)
    assert row.sent_at is None and row.attempts == 1 and "451" in (row.last_error or "")
    assert row.next_attempt_at > utcnow()  # waits before the next try
    assert sender.send_now(settings) == (0, 0)  # not due yet
    smtp.refuse = False
    session.execute(update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert sender.send_now(settings) == (1, 0)
    assert len(smtp.to("li@firm.cn")) == 1


def test_no_server_listening_is_a_failure_not_an_exception(session, settings):
    _queue(session)
    down = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 1, "smtp_tls": False})
    assert sender.send_now(down) == (0, 1)


def test_without_a_mail_server_nothing_is_sent_and_nothing_is_lost(session, settings, smtp):
    _queue(session)
    assert sender.send_now(settings.model_copy(update={"smtp_host": ""})) == (0, 0)
    assert service.list_messages(session, unsent=True)


def test_a_claimed_message_is_not_sent_by_another_process(session, settings, smtp):
    message = _queue(session)
    other = get_sessionmaker(settings.database_url)()
    assert sender._claim(other, message.id, utcnow())
    other.commit()
    other.close()
    assert sender.send_now(settings) == (0, 0)


def test_the_serving_process_sends_after_the_commit(session, settings, smtp):
    _queue(session)
    sender.kick(settings)  # what a request does after its commit
    smtp.wait_for("li@firm.cn")


def test_an_unknown_language_falls_back_to_chinese():
    subject, text = service.render("notice", "fr", {"name": "王", "title": "标题", "text": "正文", "url": "http://x"})
    assert subject == "标题" and "王，您好" in text


def test_the_first_request_after_a_start_sends_what_waited(client, session, smtp):
    _queue(session)  # queued while no sender ran (the CLI, a server that was down)
    client.get("/")  # any request starts this process's sender
    smtp.wait_for("li@firm.cn")
