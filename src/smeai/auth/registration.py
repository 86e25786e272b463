"""Self-registration: sign-up, address verification, password reset and change, email change, and the
centre's organisation verification queue.

Every email goes through the outbox (smeai.mail) in the caller's transaction; the edge wakes the sender
after its commit. Links are signed and expiring (auth/links.py).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import yaml
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from smeai.auth import audit, service
from smeai.auth.actor import Actor
from smeai.auth.links import LINK_INVALID, LinkInvalid, Links, read
from smeai.auth.models import Organisation, User
from smeai.auth.permissions import OrgKind, Permission, Role
from smeai.auth.schemas import RegisterIn
from smeai.db import utcnow
from smeai.errors import Conflict, Invalid, NotAuthenticated, NotFound, Throttled
from smeai.i18n import N_
from smeai.mail import service as mail
from smeai.storage import NotStored, Storage

PRIVACY = Path(__file__).parent / "data" / "privacy.yaml"
ROLE_OF_KIND = {OrgKind.ENTERPRISE: Role.ENTERPRISE_MEMBER, OrgKind.PROVIDER: Role.PROVIDER_MEMBER}
VERIFY_PATH, RESET_PATH, EMAIL_PATH = "/verify-email", "/reset-password", "/confirm-email"


@lru_cache(maxsize=1)
def privacy_notice() -> dict[str, str]:
    data = yaml.safe_load(PRIVACY.read_text(encoding="utf-8"))
    return {"version": str(data["version"]), "zh": data["zh"], "en": data["en"]}


def privacy_version() -> str:
    return privacy_notice()["version"]


def consent_needed(user: User) -> bool:
    """A user who consented to an older notice is asked again. Accounts an administrator created
    (privacy_version empty) were informed outside the platform and are not asked at login."""
    return user.privacy_version is not None and user.privacy_version != privacy_version()


def consent_missing() -> Invalid:
    return Invalid(N_("Please read and accept the privacy notice."), fields={"consent": "required"})


def invalid_email() -> Invalid:
    return Invalid(N_("Enter a valid email address."), fields={"email": "invalid"})


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- sign-up ---------------------------------------------------------------------------------


def register(session: Session, links: Links, data: RegisterIn, *, address: str, max_per_hour: int) -> tuple[User, str]:
    """A new account and, unless its credit code is known, a new organisation waiting for verification.
    A known code makes the account a request to join that organisation (its admins are emailed).
    Returns (user, "verify_email" | "join_requested"); the address is verified by the emailed link."""
    since = utcnow() - timedelta(hours=1)
    recent = session.scalar(select(func.count()).where(User.registered_from == address, User.created_at >= since))
    if (recent or 0) >= max_per_hour:
        raise Throttled(N_("Too many registrations from your network. Please try again in an hour."))
    consent = data.privacy_version or privacy_version()
    if consent != privacy_version():
        raise Invalid(N_("Please read and accept the current privacy notice."), fields={"privacy_version": "outdated"})
    email = str(data.email).lower()
    if service.find_user_by_email(session, email) is not None:
        raise Conflict(N_("An account with this email already exists."), fields={"email": "already registered"})
    od = data.organisation
    org = service.find_organisation_by_code(session, od.credit_code)
    kind = OrgKind(od.kind)
    joining = org is not None
    if org is None:
        if service.find_organisation_by_name(session, od.name) is not None:
            raise Conflict(
                N_("An organisation with this name is already registered with another credit code."),
                fields={"organisation.name": "already exists"},
            )
        section, division = od.industry[0], od.industry[1:] or None
        org = Organisation(
            name=od.name,
            kind=kind,
            credit_code=od.credit_code,
            province_code=od.province_code,
            industry_section=section,
            mfg_division=division,
            verification="pending",
        )
        session.add(org)
        session.flush()
    elif OrgKind(org.kind) not in ROLE_OF_KIND:
        raise Invalid(N_("This credit code belongs to the centre."), fields={"organisation.credit_code": "centre"})
    user = User(
        email=email,
        display_name=data.name,
        phone=data.phone,
        password_hash=service.hash_password(data.password),
        role=ROLE_OF_KIND[OrgKind(org.kind)],
        org_id=org.id,
        org_role="member" if joining else "admin",
        membership="pending" if joining else "active",
        privacy_version=consent,
        privacy_consented_at=utcnow(),
        registered_from=address[:64],
    )
    session.add(user)
    session.flush()
    send_verification(session, links, user)
    if joining:
        for admin in _org_admins(session, org.id):
            mail.queue(
                session,
                to=admin.email,
                template="join_request",
                lang=links.lang,
                params={
                    "name": admin.display_name,
                    "applicant": user.display_name,
                    "email": user.email,
                    "org": org.name,
                    "url": f"{links.base_url.rstrip('/')}/organisation/members",
                },
            )
    return user, "join_requested" if joining else "verify_email"


def _org_admins(session: Session, org_id: int) -> list[User]:
    query = select(User).where(
        User.org_id == org_id, User.org_role == "admin", User.is_active.is_(True), User.membership == "active"
    )
    return list(session.scalars(query.order_by(User.id)))


def send_verification(session: Session, links: Links, user: User) -> None:
    token = links.sign("verify", uid=user.id, email=user.email)
    mail.queue(
        session,
        to=user.email,
        template="verify_email",
        lang=links.lang,
        params={"name": user.display_name, "url": links.url(VERIFY_PATH, token), "hours": links.hours},
    )


def resend_verification(session: Session, links: Links, email: str, *, max_per_hour: int) -> None:
    """Another verification email for an unverified account; silent otherwise (nothing leaks)."""
    user = service.find_user_by_email(session, email)
    if user is None or user.email_verified_at is not None or not user.is_active:
        return
    if mail.count_since(session, user.email, "verify_email", utcnow() - timedelta(hours=1)) >= max_per_hour:
        return
    send_verification(session, links, user)


def verify_email(session: Session, key: str, token: str) -> User:
    payload = read(key, "verify", token)
    user = session.get(User, payload.get("uid"))
    if user is None or not user.is_active or user.email != payload.get("email"):
        raise LinkInvalid(LINK_INVALID, fields={"token": "invalid"})
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        session.flush()
    return user


# --- passwords and addresses -----------------------------------------------------------------


def request_password_reset(session: Session, links: Links, email: str, *, max_per_hour: int) -> None:
    """Email a reset link to a real, active account; the caller answers the same either way."""
    user = service.find_user_by_email(session, email)
    if user is None or not user.is_active or user.deleted_at is not None:
        service.hash_password("x" * 12)  # about the same time whether or not the account exists
        return
    if mail.count_since(session, user.email, "password_reset", utcnow() - timedelta(hours=1)) >= max_per_hour:
        return
    token = links.sign("reset", uid=user.id, ph=_digest(user.password_hash))
    mail.queue(
        session,
        to=user.email,
        template="password_reset",
        lang=links.lang,
        params={"name": user.display_name, "url": links.url(RESET_PATH, token), "hours": links.hours},
    )


def reset_password(session: Session, key: str, token: str, password: str) -> User:
    """Set a new password from an emailed link (once: the link quotes the old password's digest), and end
    every session and API token of the user. The address is proven, so it counts as verified."""
    payload = read(key, "reset", token)
    user = session.get(User, payload.get("uid"))
    if user is None or not user.is_active or payload.get("ph") != _digest(user.password_hash):
        raise LinkInvalid(LINK_INVALID, fields={"token": "used"})
    service.check_password_text(password, user.email)
    user.password_hash = service.hash_password(password)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    service.revoke_user_tokens(session, user.id)
    return user


def _check_current(user: User, password: str) -> None:
    try:
        ok = service.verify_password(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        raise NotAuthenticated(N_("The current password is wrong."), fields={"current_password": "wrong"})


def _own_user(session: Session, actor: Actor) -> User:
    if actor.user_id is None:
        raise NotAuthenticated(N_("Please log in."))
    return service.get_user(session, actor, actor.user_id)


def change_password(session: Session, actor: Actor, current: str, new: str, *, keep_token: int | None) -> int:
    """A new password; every other session and API token ends. Returns how many ended."""
    user = _own_user(session, actor)
    _check_current(user, current)
    service.check_password_text(new, user.email)
    user.password_hash = service.hash_password(new)
    return service.revoke_user_tokens(session, user.id, keep=keep_token)


def request_email_change(session: Session, actor: Actor, links: Links, new_email: str, password: str) -> None:
    """Email a confirmation link to the new address; the account keeps its old one until it is opened."""
    user = _own_user(session, actor)
    _check_current(user, password)
    new_email = new_email.strip().lower()
    if service.find_user_by_email(session, new_email) is not None:
        raise Conflict(N_("An account with this email already exists."), fields={"email": "already registered"})
    token = links.sign("email", uid=user.id, old=user.email, new=new_email)
    mail.queue(
        session,
        to=new_email,
        template="email_change",
        lang=links.lang,
        params={"name": user.display_name, "url": links.url(EMAIL_PATH, token), "hours": links.hours},
    )


def confirm_email_change(session: Session, key: str, token: str) -> User:
    payload = read(key, "email", token)
    user = session.get(User, payload.get("uid"))
    new_email = str(payload.get("new", ""))
    if user is None or not user.is_active or user.email != payload.get("old"):
        raise LinkInvalid(LINK_INVALID, fields={"token": "used"})
    if service.find_user_by_email(session, new_email) is not None:
        raise Conflict(N_("An account with this email already exists."), fields={"email": "already registered"})
    user.email, user.email_verified_at = new_email, utcnow()
    session.flush()
    return user


# --- the centre's verification queue ---------------------------------------------------------

VERIFICATION_FIELDS = ("verification", "verification_note", "verified_at")


def verification_query(actor: Actor, *, state: str = "pending") -> Select[Organisation]:
    """The organisations in one verification state, the latest licence first (the API pages it in the
    database: a centre open to thousands of enterprises has thousands verified)."""
    actor.require(Permission.ORG_VERIFY)
    query = select(Organisation).where(Organisation.verification == state)
    return query.order_by(Organisation.licence_uploaded_at.desc(), Organisation.created_at, Organisation.id)


def verification_queue(session: Session, actor: Actor, *, state: str = "pending") -> list[Organisation]:
    return list(session.scalars(verification_query(actor, state=state)))


def organisation_for_review(session: Session, actor: Actor, org_id: int) -> Organisation:
    actor.require(Permission.ORG_VERIFY)
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound(N_("Organisation not found."))
    return org


def organisation_by_code(session: Session, actor: Actor, credit_code: str) -> Organisation:
    actor.require(Permission.ORG_VERIFY)
    org = service.find_organisation_by_code(session, credit_code)
    if org is None:
        raise NotFound(N_("No organisation has this credit code."), fields={"credit_code": credit_code})
    return org


def approve_organisation(session: Session, actor: Actor, links: Links, org: Organisation) -> Organisation:
    actor.require(Permission.ORG_VERIFY)
    if org.verification == "verified":
        raise Conflict(N_("This organisation is already verified."))
    before = audit.snapshot(org, *VERIFICATION_FIELDS)
    org.verification, org.verification_note, org.verified_at = "verified", None, utcnow()
    session.flush()
    audit.record(session, actor, "organisation.verify", org, before, audit.snapshot(org, *VERIFICATION_FIELDS))
    _tell_admins(session, links, org, "org_verified", {})
    return org


def return_organisation(session: Session, actor: Actor, links: Links, org: Organisation, reason: str) -> Organisation:
    actor.require(Permission.ORG_VERIFY)
    if org.verification == "verified":
        raise Conflict(N_("This organisation is already verified."))
    reason = reason.strip()
    if len(reason) < 2:
        raise Invalid(N_("Say why it is returned."), fields={"reason": "required"})
    before = audit.snapshot(org, *VERIFICATION_FIELDS)
    org.verification, org.verification_note = "returned", reason[:1000]
    session.flush()
    audit.record(session, actor, "organisation.return", org, before, audit.snapshot(org, *VERIFICATION_FIELDS))
    _tell_admins(session, links, org, "org_returned", {"reason": org.verification_note})
    return org


def _tell_admins(session: Session, links: Links, org: Organisation, template: str, params: dict[str, object]) -> None:
    for admin in _org_admins(session, org.id):
        if "verification" in (admin.mail_optout or []):
            continue
        mail.queue(
            session,
            to=admin.email,
            template=template,
            lang=links.lang,
            category="verification",
            params={
                "name": admin.display_name,
                "org": org.name,
                "url": f"{links.base_url.rstrip('/')}/organisation",
                **params,
            },
        )


LICENCE_TYPES = {b"%PDF": ".pdf", b"\x89PNG": ".png", b"\xff\xd8\xff": ".jpg"}
LICENCE_PREFIX = "licences/"  # in the file store (smeai/storage.py); Organisation.licence_file is the name below it


def licence_keys(session: Session) -> set[str]:
    """Every stored licence an organisation names (for the orphan sweep: a replaced licence is no longer named)."""
    names = session.scalars(select(Organisation.licence_file).where(Organisation.licence_file.is_not(None)))
    return {f"{LICENCE_PREFIX}{name}" for name in names}


def upload_licence(session: Session, actor: Actor, store: Storage, content: bytes) -> Organisation:
    """The organisation's 营业执照 (PDF, PNG or JPEG), kept in STORE; a returned organisation waits again."""
    if actor.org_id is None or not actor.can(Permission.ORG_WRITE_OWN):
        actor.require(Permission.ORG_WRITE_OWN)
    org = service.get_organisation(session, actor, actor.org_id or 0)
    suffix = next((ext for magic, ext in LICENCE_TYPES.items() if content.startswith(magic)), None)
    if suffix is None:
        raise Invalid(N_("Upload the business licence as a PDF, PNG or JPEG file."), fields={"file": "type"})
    name = f"org-{org.id}-{_digest(content.hex())}{suffix}"
    store.put(f"{LICENCE_PREFIX}{name}", content)
    org.licence_file, org.licence_uploaded_at = name, utcnow()
    if org.verification == "returned":
        org.verification = "pending"
    session.flush()
    return org


def licence_type(name: str) -> str:
    return {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg"}.get(Path(name).suffix, "")


def licence_file(session: Session, actor: Actor, store: Storage, org_id: int) -> tuple[str, bytes]:
    """The stored licence of an organisation (name, bytes): its own members and the centre's reviewers may read it."""
    org = service.get_organisation(session, actor, org_id)
    if org.id != actor.org_id:
        actor.require(Permission.ORG_VERIFY)
    if not org.licence_file:
        raise NotFound(N_("No business licence has been uploaded."))
    try:
        return org.licence_file, store.get(f"{LICENCE_PREFIX}{org.licence_file}")
    except NotStored:
        raise NotFound(N_("No business licence has been uploaded.")) from None
