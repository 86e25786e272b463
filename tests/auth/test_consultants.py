"""Operators assign enterprises to consultants; a consultant acts for an assigned enterprise only."""

from __future__ import annotations

import pytest

from smeai.auth import audit, consultants
from smeai.auth.models import Organisation
from smeai.auth.permissions import Permission
from smeai.errors import Forbidden, Invalid, NotFound
from tests import builders


def test_assigning_moves_an_enterprise_and_is_audited(session):
    op, a, b = builders.operator(session), builders.consultant(session), builders.consultant(session)
    ent = builders.enterprise(session)
    consultants.assign(session, op, ent.org_id, a.user_id)
    assert consultants.assigned_org_ids(session, a) == [ent.org_id]
    consultants.assign(session, op, ent.org_id, b.user_id)
    assert consultants.assigned_org_ids(session, a) == []
    assert consultants.assigned_org_ids(session, b) == [ent.org_id]
    entries = audit.list_entries(session, op, action="consultant.assign")
    assert [e.after for e in entries] == [{"consultant_id": b.user_id}, {"consultant_id": a.user_id}]
    with pytest.raises(Invalid):
        consultants.assign(session, op, ent.org_id, op.user_id)  # not a consultant
    with pytest.raises(Forbidden):
        consultants.assign(session, a, ent.org_id, a.user_id)


def test_acting_for_an_enterprise_needs_the_assignment(session):
    op, adviser, ent = builders.operator(session), builders.consultant(session), builders.enterprise(session)
    with pytest.raises(NotFound):
        consultants.act_for(session, adviser, ent.org_id)
    consultants.assign(session, op, ent.org_id, adviser.user_id)
    acting = consultants.act_for(session, adviser, ent.org_id)
    assert (acting.user_id, acting.org_id, acting.on_behalf_of) == (adviser.user_id, ent.org_id, ent.org_id)
    assert not acting.can(Permission.ASSESSMENT_WRITE_OWN) and acting.can(Permission.NEED_WRITE_OWN)


def test_acting_for_an_unverified_enterprise_withholds_what_its_own_people_lack(session):
    op, adviser, ent = builders.operator(session), builders.consultant(session), builders.enterprise(session)
    consultants.assign(session, op, ent.org_id, adviser.user_id)
    assert consultants.act_for(session, adviser, ent.org_id).can(Permission.SUBSIDY_APPLY)
    org = session.get(Organisation, ent.org_id)
    assert org is not None
    org.verification = "pending"
    session.flush()
    acting = consultants.act_for(session, adviser, ent.org_id)
    assert not acting.can(Permission.SUBSIDY_APPLY) and not acting.can(Permission.ENGAGEMENT_ACT)
    assert acting.can(Permission.NEED_WRITE_OWN)
