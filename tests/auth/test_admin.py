"""The admin console: search, role changes and disabling (sessions end at once), each in the audit log;
every page refuses those without the right."""

from __future__ import annotations

import pytest

from smeai.auth import admin, audit
from smeai.auth.permissions import Role
from smeai.errors import Conflict, Forbidden, Invalid
from smeai.web.paging import Paging, paginate_select
from tests import builders


def test_search_users_by_email_name_or_organisation(session):
    adm = builders.admin(session)
    a = builders.enterprise(session, "佛山精密模具有限公司")
    builders.enterprise(session, "赣州稀土有限公司")
    rows, total = paginate_select(session, admin.users_query(adm, q="精密模具"), Paging(limit=10, offset=0))
    assert [u.id for u in rows] == [a.user_id] and total == 1
    rows, _ = paginate_select(session, admin.users_query(adm, q="100%_"), Paging(limit=10, offset=0))
    assert rows == []  # % and _ are literal characters, not wildcards
    with pytest.raises(Forbidden):
        admin.users_query(builders.operator(session))


def test_role_change_is_checked_and_audited(session):
    adm, op = builders.admin(session), builders.operator(session)
    user = admin.change_role(session, adm, op.user_id, Role.CONSULTANT)
    assert user.role == "consultant"
    [entry] = audit.list_entries(session, adm, action="user.role")
    assert (entry.before, entry.after, entry.actor_id) == ({"role": "operator"}, {"role": "consultant"}, adm.user_id)
    member = builders.enterprise(session)
    with pytest.raises(Invalid):
        admin.change_role(session, adm, member.user_id, Role.OPERATOR)  # an enterprise cannot hold a centre role
    with pytest.raises(Conflict):
        admin.change_role(session, adm, adm.user_id, Role.OPERATOR)
    with pytest.raises(Forbidden):
        admin.change_role(session, op, member.user_id, Role.ENTERPRISE_MEMBER)


def test_disabling_ends_every_session_and_token_at_once(session, client_for, page_client_for):
    adm, member = builders.admin(session), builders.enterprise(session)
    api, page = client_for(member), page_client_for(member)
    assert api.get("/api/v1/me").status_code == 200
    admin.set_active(session, adm, member.user_id, False)
    session.commit()
    assert api.get("/api/v1/me").status_code == 401
    assert page.get("/profile", follow_redirects=False).status_code in (302, 303)
    [entry] = audit.list_entries(session, adm, action="user.disable")
    assert entry.after == {"active": False, "tokens_ended": 2}
    admin.set_active(session, adm, member.user_id, True)
    session.commit()
    assert api.get("/api/v1/me").status_code == 401  # old secrets stay dead after re-enabling


def test_console_pages_answer_by_permission(session, page_client_for):
    adm, op, member = builders.admin(session), builders.operator(session), builders.enterprise(session)
    as_admin, as_op, as_member = page_client_for(adm), page_client_for(op), page_client_for(member)
    for path in ("/admin", "/admin/users", "/admin/organisations", "/admin/audit"):
        assert as_admin.get(path).status_code == 200, path
        assert as_member.get(path).status_code == 403, path
    assert as_op.get("/admin/users").status_code == 403
    assert as_op.get("/admin/organisations").status_code == 200
    assert as_op.get("/admin/audit.csv").status_code == 403
    form = {"active": "0", "csrf_token": as_admin.csrf}
    r = as_admin.post(f"/admin/users/{member.user_id}/active", data=form, follow_redirects=False)
    assert r.status_code == 303
    [entry] = audit.list_entries(session, adm, action="user.disable")
    assert entry.request_id == r.headers["x-request-id"]  # an operator can match the entry to the request
    page = as_admin.get("/admin/audit")
    assert "账号已停用" in page.text or "Account disabled" in page.text
    csv = as_admin.get("/admin/audit.csv?action=user.disable")
    assert csv.status_code == 200 and "user.disable" in csv.text
    assert as_admin.get("/admin/audit.xlsx").content[:2] == b"PK"


def test_audit_api_pages_and_filters_by_target(session, client_for):
    op, adm = builders.operator(session), builders.admin(session)
    for n in range(3):
        audit.record(session, adm, "x.do", ("things", n))
    session.commit()
    r = client_for(op).get("/api/v1/audit", params={"target_type": "things", "target_id": "1"})
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 1 and body["items"][0]["target_id"] == "1"
    assert client_for(builders.enterprise(session)).get("/api/v1/audit").status_code == 403
