"""The audit log: what record() writes, and that nothing can change or remove an entry."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from smeai.auth import audit, consultants
from smeai.auth.audit import AppendOnly, AuditEntry
from smeai.auth.models import Organisation
from smeai.errors import Forbidden
from tests import builders


def test_record_names_actor_target_organisation_and_states(session):
    op = builders.operator(session)
    member = builders.enterprise(session)
    org = session.get(Organisation, member.org_id)
    entry = audit.record(session, op, "org.update", org, {"city": None}, {"city": "佛山"})
    session.commit()
    [row] = audit.list_entries(session, op, target_type="organisations", target_id=str(org.id))
    assert row.id == entry.id
    assert (row.actor_id, row.on_behalf_of, row.action, row.org_id) == (op.user_id, None, "org.update", org.id)
    assert (row.before, row.after) == ({"city": None}, {"city": "佛山"})
    assert row.at is not None


def test_on_behalf_entries_name_the_consultant_and_the_enterprise(session):
    op, adviser, member = builders.operator(session), builders.consultant(session), builders.enterprise(session)
    consultants.assign(session, op, member.org_id, adviser.user_id)
    acting = consultants.act_for(session, adviser, member.org_id)
    audit.record(session, acting, "need.create", ("needs", 7))
    session.commit()
    [row] = audit.list_entries(session, op, action="need.create")
    assert (row.actor_id, row.on_behalf_of, row.org_id) == (adviser.user_id, member.org_id, None)


def test_entries_cannot_be_changed_or_deleted_through_the_orm(session):
    op = builders.operator(session)
    entry = audit.record(session, op, "x.do", ("things", 1), after={"a": 1})
    session.commit()
    entry.action = "x.undo"
    with pytest.raises(AppendOnly):
        session.flush()
    session.rollback()
    session.delete(entry)
    with pytest.raises(AppendOnly):
        session.flush()
    session.rollback()
    with pytest.raises(AppendOnly):
        session.execute(update(AuditEntry).values(action="x.undo"))
    with pytest.raises(AppendOnly):
        session.execute(delete(AuditEntry))
    session.rollback()
    assert session.scalar(select(AuditEntry.action)) == "x.do"


def test_the_database_refuses_an_update_even_in_raw_sql(session, backend):
    op = builders.operator(session)
    audit.record(session, op, "x.do", ("things", 1))
    session.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text("UPDATE audit_log SET action = 'x.undo'"))
    session.rollback()
    if backend == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text("DELETE FROM audit_log"))
        session.rollback()
    assert session.scalar(select(AuditEntry.action)) == "x.do"


def test_only_those_with_audit_read_see_entries(session):
    member = builders.enterprise(session)
    with pytest.raises(Forbidden):
        audit.list_entries(session, member)
    with pytest.raises(Forbidden):
        audit.list_entries(session, builders.consultant(session))
