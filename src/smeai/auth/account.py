"""A user's own account: login sessions, privacy consent, email notification categories, their personal
data as JSON, and deleting the account (个人信息保护法: personal data erased or anonymised; the
organisation's business records and the ledger keep pointing at the same, now anonymous, user row).

`notify()` is how any domain emails a notification to an organisation's users, honouring each user's
opt-outs; the in-app record stays the domain's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from smeai.auth.actor import Actor
from smeai.auth.links import BASE_URL_KEY
from smeai.auth.models import AccessToken, Invitation, User
from smeai.auth.registration import _check_current, _own_user, consent_needed, privacy_version
from smeai.db import utcnow
from smeai.errors import Invalid, NotFound
from smeai.i18n import N_, get_lang, translations
from smeai.mail import service as mail

DELETED_NAME = "已注销用户"  # shown wherever the person's records remain
CATEGORIES = ("verification", "engagement", "voucher", "review")


def _sessions(actor: Actor) -> Any:
    if actor.user_id is None:
        raise NotFound(N_("User not found."))
    now = utcnow()
    return and_(
        AccessToken.user_id == actor.user_id,
        AccessToken.kind == "session",
        AccessToken.revoked_at.is_(None),
        or_(AccessToken.expires_at.is_(None), AccessToken.expires_at > now),
    )


def list_sessions(session: Session, actor: Actor) -> list[AccessToken]:
    query = select(AccessToken).where(_sessions(actor)).order_by(AccessToken.created_at.desc(), AccessToken.id.desc())
    return list(session.scalars(query))


def revoke_session(session: Session, actor: Actor, token_id: int) -> AccessToken:
    token = session.scalar(select(AccessToken).where(AccessToken.id == token_id, _sessions(actor)))
    if token is None:
        raise NotFound(N_("Session not found."))
    token.revoked_at = utcnow()
    session.flush()
    return token


def consent(session: Session, actor: Actor, version: str) -> User:
    user = _own_user(session, actor)
    if version != privacy_version():
        raise Invalid(N_("Please read and accept the current privacy notice."), fields={"privacy_version": "outdated"})
    user.privacy_version, user.privacy_consented_at = version, utcnow()
    session.flush()
    return user


def needs_consent(session: Session, actor: Actor) -> bool:
    return actor.user_id is not None and consent_needed(_own_user(session, actor))


def set_notifications_off(session: Session, actor: Actor, off: list[str]) -> User:
    user = _own_user(session, actor)
    user.mail_optout = sorted({c for c in off if c in CATEGORIES})
    session.flush()
    return user


def notify(
    session: Session,
    *,
    org_id: int,
    category: str,
    title: str,
    text: str,
    params: Mapping[str, object] | None = None,
    path: str = "/",
) -> int:
    """Email a notification (TITLE and TEXT are msgids, %-formatted with PARAMS in the reader's language)
    to the active users of an organisation who have not turned CATEGORY off; returns how many were queued.
    Domains call it beside their in-app record (an engagement step, a review, a voucher decision)."""
    lang = get_lang()
    tr = translations(lang)
    values = dict(params or {})
    subject, body = tr.gettext(title) % values, tr.gettext(text) % values
    base = str(session.info.get(BASE_URL_KEY, "")).rstrip("/")
    query = select(User).where(
        User.org_id == org_id, User.is_active.is_(True), User.membership == "active", User.deleted_at.is_(None)
    )
    count = 0
    for user in session.scalars(query):
        if category in (user.mail_optout or []):
            continue
        mail.queue(
            session,
            to=user.email,
            template="notice",
            lang=lang,
            params={"name": user.display_name, "title": subject, "text": body, "url": base + path},
            category=category,
        )
        count += 1
    return count


# What other domains tell an organisation by email, beside their own in-app record: (category, subject, text).
NOTICES: dict[str, tuple[str, str, str]] = {
    "voucher.approve": (
        "voucher",
        N_("Voucher application approved"),
        N_("The centre approved your voucher application. Open it to see the amount and how to redeem it."),
    ),
    "voucher.reject": (
        "voucher",
        N_("Voucher application rejected"),
        N_("The centre rejected your voucher application. Open it to read the reasons."),
    ),
    "voucher.return": (
        "voucher",
        N_("Voucher redemption returned"),
        N_("The centre returned your redemption. Open it to see what to correct."),
    ),
    "voucher.verify": (
        "voucher",
        N_("Voucher paid"),
        N_("The centre verified your redemption: the voucher is paid."),
    ),
    "offering.approve": (
        "review",
        N_("Offering published"),
        N_("“%(name)s” passed the review and is published in the pool."),
    ),
    "offering.reject": (
        "review",
        N_("Offering returned"),
        N_("“%(name)s” did not pass the review. Open it to read the reviewer's comment."),
    ),
    "engagement.step": (
        "engagement",
        N_("An engagement has a new step"),
        N_("An engagement about “%(name)s” has moved on. Open it to see the step and what to do next."),
    ),
}


def notify_event(
    session: Session, event: str, *, org_id: int, params: Mapping[str, object] | None = None, path: str = "/"
) -> int:
    """notify() with one of NOTICES (their words live here, in the accounts catalog)."""
    category, title, text = NOTICES[event]
    return notify(session, org_id=org_id, category=category, title=title, text=text, params=params, path=path)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_personal_data(session: Session, actor: Actor) -> dict[str, Any]:
    """What the platform holds about the user as a person (个人信息保护法 第四十五条)."""
    user = _own_user(session, actor)
    org = user.organisation
    tokens = session.scalars(select(AccessToken).where(AccessToken.user_id == user.id).order_by(AccessToken.id))
    return {
        "exported_at": utcnow().isoformat(),
        "user": {
            "id": user.id,
            "email": user.email,
            "name": user.display_name,
            "phone": user.phone,
            "role": user.role,
            "org_role": user.org_role,
            "created_at": _iso(user.created_at),
            "email_verified_at": _iso(user.email_verified_at),
            "last_login_at": _iso(user.last_login_at),
            "privacy_version": user.privacy_version,
            "privacy_consented_at": _iso(user.privacy_consented_at),
            "notifications_off": user.mail_optout or [],
            "registered_from": user.registered_from,
        },
        "organisation": {"id": org.id, "name": org.name, "kind": org.kind, "credit_code": org.credit_code},
        "sessions_and_tokens": [
            {
                "kind": t.kind,
                "label": t.label,
                "scope": t.scope,
                "created_at": _iso(t.created_at),
                "expires_at": _iso(t.expires_at),
                "revoked_at": _iso(t.revoked_at),
            }
            for t in tokens
        ],
        "emails": [
            {"subject": m.subject, "template": m.template, "created_at": _iso(m.created_at), "sent_at": _iso(m.sent_at)}
            for m in mail.sent_to(session, user.email)
        ],
    }


def delete_account(session: Session, actor: Actor, password: str) -> User:
    """Erase the person, keep the records: the user row stays (business records and the ledger refer to
    it) under an anonymous name and an address nobody can hold; sessions, tokens, invitations and the
    text of emails sent to them go."""
    user = _own_user(session, actor)
    _check_current(user, password)
    old_email = user.email
    anonymous = f"deleted-{user.id}@invalid"
    mail.erase_address(session, old_email, anonymous)
    session.execute(delete(AccessToken).where(AccessToken.user_id == user.id))
    session.execute(delete(Invitation).where(Invitation.email == old_email))
    user.email, user.display_name, user.phone = anonymous, DELETED_NAME, None
    user.password_hash = "!"  # matches no password
    user.is_active, user.deleted_at, user.registered_from, user.mail_optout = False, utcnow(), None, None
    user.org_role = "member"
    session.flush()
    return user
