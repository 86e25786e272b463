"""The consultant's workspace pages (/centre): assigned enterprises, one enterprise's file, a need
written on its behalf."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from smeai.auth.deps import PageActor
from smeai.centre import service
from smeai.db import DbSession
from smeai.errors import Invalid
from smeai.i18n import _
from smeai.inputs import RecordId
from smeai.matching.pages import NEED_STATUS, STATE_LABELS
from smeai.matching.schemas import NeedIn
from smeai.subsidy.labels import STATES as APPLICATION_STATES
from smeai.web.csrf import csrf_protect
from smeai.web.flash import redirect_with_message
from smeai.web.forms import parse_form
from smeai.web.render import render

router = APIRouter(include_in_schema=False)

LABELS = {"need": NEED_STATUS, "engagement": STATE_LABELS, "application": APPLICATION_STATES}


@router.get("/centre")
def workspace(request: Request, session: DbSession, actor: PageActor) -> Response:
    files = service.workspace(session, actor)
    return render(request, "centre/workspace.html", active="centre", files=files, L=LABELS)


@router.get("/centre/enterprises/{org_id}")
def enterprise(request: Request, org_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    file = service.enterprise_file(session, actor, org_id)
    return render(request, "centre/enterprise.html", active="centre", f=file, L=LABELS, errors={}, values={})


@router.post("/centre/enterprises/{org_id}/needs", dependencies=[Depends(csrf_protect)])
async def write_need(request: Request, org_id: RecordId, session: DbSession, actor: PageActor) -> Response:
    form = dict(await request.form())
    try:
        data = parse_form(NeedIn, {"title": form.get("title", ""), "text": form.get("text", "")})
        service.write_need(session, actor, org_id, data)
    except Invalid as exc:
        session.rollback()
        file = service.enterprise_file(session, actor, org_id)
        messages = [("error", _(exc.message))]
        context = {"f": file, "L": LABELS, "errors": exc.fields, "values": form, "messages": messages}
        return render(request, "centre/enterprise.html", 422, active="centre", **context)
    session.commit()
    return redirect_with_message(request, f"/centre/enterprises/{org_id}", _("Need saved for the enterprise."))
