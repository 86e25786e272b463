from __future__ import annotations

import pytest

from smeai.auth import service
from smeai.auth.actor import Actor
from smeai.auth.permissions import OrgKind, Role
from smeai.auth.schemas import OrganisationIn, ProfileIn, UserIn
from smeai.errors import Conflict, Forbidden, Invalid, NotAuthenticated, NotFound, Throttled
from tests import builders

PROFILE = ProfileIn(
    industry_section="C",
    mfg_division="33",
    province_code="13",
    city="邢台",
    size_class="small",
    revenue_band="0-2",
)


def test_enterprise_cannot_read_another_enterprises_organisation(session):
    a, b = builders.enterprise(session, "甲精密"), builders.enterprise(session, "乙纺织")
    session.commit()
    session.expunge_all()
    with pytest.raises(NotFound):
        service.get_organisation(session, b, a.org_id)
    assert [o.id for o in service.list_organisations(session, b)] == [b.org_id]


def test_enterprise_cannot_change_another_enterprises_profile(session):
    a, b = builders.enterprise(session), builders.enterprise(session)
    with pytest.raises(NotFound):  # 404 before 403: a foreign org looks missing
        service.update_profile(session, b, a.org_id, PROFILE)


def test_operator_reads_and_fixes_any_enterprise_profile(session):
    a, op = builders.enterprise(session), builders.operator(session)
    org = service.update_profile(session, op, a.org_id, PROFILE)
    assert org.city == "邢台"
    assert a.org_id in {o.id for o in service.list_organisations(session, op)}


def test_analyst_sees_only_its_own_organisation(session):
    a, analyst = builders.enterprise(session), builders.analyst(session)
    with pytest.raises(NotFound):
        service.get_organisation(session, analyst, a.org_id)


def test_provider_cannot_write_profile_of_an_enterprise(session):
    a, p = builders.enterprise(session), builders.provider(session)
    with pytest.raises(NotFound):
        service.update_profile(session, p, a.org_id, PROFILE)


def test_password_is_stored_as_an_argon2_hash(session):
    actor = builders.enterprise(session)
    user, _org = service.me(session, actor)
    assert user.password_hash.startswith("$argon2")
    assert builders.PASSWORD not in user.password_hash


def test_login_accepts_the_password_and_refuses_a_wrong_one(session, settings):
    actor = builders.enterprise(session, email="boss@jia.cn")
    session.commit()
    user = service.authenticate(session, settings, email="Boss@Jia.cn ", password=builders.PASSWORD, address="1.1.1.1")
    assert user.id == actor.user_id
    session.commit()  # each login is its own unit of work, as in a request
    with pytest.raises(NotAuthenticated):
        service.authenticate(session, settings, email="boss@jia.cn", password="wrong", address="1.1.1.1")


def test_repeated_failed_logins_are_throttled_even_with_the_right_password(session, settings):
    builders.enterprise(session, email="target@jia.cn")
    session.commit()
    for _ in range(settings.login_max_failures):
        with pytest.raises(NotAuthenticated):
            service.authenticate(session, settings, email="target@jia.cn", password="guess", address="9.9.9.9")
        session.rollback()  # the edge rolls back; the failure count must survive it
    with pytest.raises(Throttled):
        service.authenticate(session, settings, email="target@jia.cn", password=builders.PASSWORD, address="9.9.9.9")


def test_revoked_and_expired_tokens_do_not_authenticate(session):
    from datetime import timedelta

    actor = builders.enterprise(session)
    user, _ = service.me(session, actor)
    live, _ = service.issue_token(session, user, kind="api", lifetime=timedelta(hours=1))
    expired, _ = service.issue_token(session, user, kind="api", lifetime=timedelta(seconds=-1))
    assert service.actor_for_token(session, live, kind="api") == actor
    assert service.actor_for_token(session, live, kind="session") is None  # kinds don't mix
    assert service.actor_for_token(session, expired, kind="api") is None
    service.revoke_token(session, live)
    assert service.actor_for_token(session, live, kind="api") is None


def test_role_must_fit_the_organisation_kind(session):
    system = Actor.system()
    org = service.create_organisation(session, system, OrganisationIn(name="某服务商", kind=OrgKind.PROVIDER))
    with pytest.raises(Invalid) as err:
        service.create_user(
            session,
            system,
            UserIn(email="x@y.cn", display_name="x", password="long enough pw", role=Role.OPERATOR, org_id=org.id),
        )
    assert "role" in err.value.fields


def test_duplicate_email_is_a_conflict_whatever_its_case(session):
    builders.enterprise(session, email="dup@jia.cn")
    with pytest.raises(Conflict):
        builders.enterprise(session, email="DUP@jia.cn")


def test_only_admins_create_users(session):
    op = builders.operator(session)
    with pytest.raises(Forbidden):
        service.create_organisation(session, op, OrganisationIn(name="新企业", kind=OrgKind.ENTERPRISE))


def test_profile_requires_a_division_for_manufacturing_only():
    with pytest.raises(ValueError, match=r"mfg_division\n.*Required for manufacturing"):
        ProfileIn(industry_section="C", province_code="13", city="x", size_class="small", revenue_band="0-2")
    with pytest.raises(ValueError, match=r"mfg_division\n.*Only for manufacturing"):
        ProfileIn(
            industry_section="F",
            mfg_division="33",
            province_code="13",
            city="x",
            size_class="small",
            revenue_band="0-2",
        )
    with pytest.raises(ValueError, match="province"):
        ProfileIn(industry_section="F", province_code="99", city="x", size_class="small", revenue_band="0-2")


def test_organisation_names_are_scoped_like_reads(session):
    a, b = builders.enterprise(session, "甲精密"), builders.enterprise(session, "乙纺织")
    op = builders.operator(session)
    both = {a.org_id, b.org_id}
    assert service.organisation_names(session, op, both) == {a.org_id: "甲精密", b.org_id: "乙纺织"}
    assert service.organisation_names(session, a, both) == {a.org_id: "甲精密"}  # never another enterprise's name
