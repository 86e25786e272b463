"""Analyst pages at /survey: the chapter-4 dashboard, the import form, the report downloads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from smeai.auth.deps import PageActor
from smeai.auth.permissions import Permission
from smeai.config import app_settings
from smeai.db import DbSession
from smeai.errors import Invalid
from smeai.i18n import N_, _, get_lang
from smeai.inputs import RecordId
from smeai.lru import Bounded
from smeai.survey import codebook, figures, index, report, service, uploads
from smeai.web.csrf import csrf_protect
from smeai.web.downloads import attachment
from smeai.web.fragments import Fragments
from smeai.web.guard import ClientGone, abandoned
from smeai.web.limits import upload_route
from smeai.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)


# The dashboard's figures and chart data as drawn, per wave version, filters, right to see small cells, cell
# minimum and language: building them from the wave's cached indicators took about half of every view
# (copying the indicators, labelling and shaping some 200 cells). Kept for FIGURES_CACHED views, like the
# indicators; an import moves the wave's version, so it shows at once. Read-only once stored.
_FIGURES: Bounded[tuple[dict[str, Any], list[figures.Figure], list[dict[str, object]]]] = Bounded(
    service.FIGURES_CACHED
)


def _figures_key(session, actor, wave, version: int, filters: service.Filters, k: int) -> tuple[Any, ...]:
    """Everything the wave's figures depend on: its version (moved by every import), the filters, the right
    to see small cells, the cell minimum and the language."""
    return (
        str(session.get_bind().engine.url),
        wave.id,
        wave.code,
        wave.created_at,
        version,
        filters,
        service.may_see_small_cells(actor),
        k,
        get_lang(),
    )


# The figures block as rendered (survey/_figures.html, half of each view's time), per the same key: it shows
# only the wave's figures, the filters and whether small cells are suppressed, nothing of the visitor's.
_FIGURES_HTML = Fragments(service.FIGURES_CACHED)


def _figures(
    session, actor, wave, filters: service.Filters, k: int, key: tuple[Any, ...]
) -> tuple[dict[str, Any], list[figures.Figure], list[dict[str, object]]]:
    unfiltered = not filters
    if unfiltered or service.may_filter(actor):  # otherwise wave_figures refuses the filters
        found = _FIGURES.get(key)
        if found is not None:
            return found
    ind, idx = service.wave_figures(session, actor, wave.code, filters=filters, small_cell_min=k)
    figs = figures.build(ind, idx)
    built = ind, figs, [_chart(f) for f in figs]
    _FIGURES.put(key, built)
    return built


def _view(session, actor, settings, wave: str | None, filters: service.Filters, compare: str | None) -> dict:
    # The waves, their counts and versions in one query: the latest wave (latest_wave's order) and the shown
    # wave's version come from it, not from a query each.
    listed = service.waves_with_versions(session, actor)
    waves = [(w, n) for w, n, _version in listed]
    chosen = service.get_wave(session, actor, wave) if wave else None
    if not wave and listed:
        chosen = max((w for w, _n, _version in listed), key=lambda w: (w.created_at, w.id))
    if chosen is None:
        return {"waves": waves, "wave": None}
    versions = {w.id: version for w, _n, version in listed}
    version = versions[chosen.id] if chosen.id in versions else service.wave_version(session, chosen)
    k = settings.small_cell_min
    key = _figures_key(session, actor, chosen, version, filters, k)
    ind, figs, charts = _figures(session, actor, chosen, filters, k, key)
    other = None
    if compare and compare != chosen.code:
        other = {
            "code": compare,
            "ind": service.wave_indicators(session, actor, compare, filters=filters, small_cell_min=k),
        }
    return {
        "waves": waves,
        "wave": chosen,
        "ind": ind,
        "figs": figs,
        "charts": charts,
        "other": other,
        "index_components": index.definition().components,
        "suppressed": not service.may_see_small_cells(actor),
        "small_cell_min": k,
        "figures_key": key,
    }


def _chart(f: figures.Figure) -> dict[str, object]:
    """What the page's ECharts code draws: numbers only; a suppressed cell is flagged, never a number."""
    spec: dict[str, Any] = {
        "key": f.key,
        "chart": f.chart,
        "columns": f.columns,
        "unit": f.unit,
        "rows": [[label, [figures.chart_value(v) for v in values]] for label, values in f.rows],
    }
    if f.chart == "heatmap":
        spec["suppressed"] = [[figures.is_suppressed(v) for v in values] for _label, values in f.rows]
        spec["names"] = f.column_names or f.columns
        if f.counts is not None:
            spec["counts"] = [[figures.chart_value(n) for n in row] for row in f.counts]
    return spec


@router.get("/survey")
def dashboard(
    request: Request,
    session: DbSession,
    actor: PageActor,
    wave: str | None = None,
    province: str | None = None,
    section: str | None = None,
    group: str | None = None,
    compare: str | None = None,
) -> HTMLResponse:
    filters = service.Filters(province=province or None, section=section or None, group=group or None)
    view = _view(session, actor, app_settings(request), wave or None, filters, compare or None)
    if abandoned(request):  # the client left while the figures were computed: nobody will see the page
        raise ClientGone
    context = {"filters": filters, "cell": figures.cell, **view}
    if view["wave"] is not None and view["other"] is None:  # a comparison is drawn each time
        shown = ("wave", "ind", "figs", "charts", "other", "index_components", "suppressed", "small_cell_min")
        context["figures_html"] = _FIGURES_HTML.render(
            request,
            view["figures_key"],
            "survey/_figures.html",
            lambda: {"filters": filters, "cell": figures.cell} | {name: view[name] for name in shown},
        )
    if is_htmx(request):
        if "figures_html" in context:
            return render(request, "fragment.html", fragment=context["figures_html"])
        return render(request, "survey/_figures.html", **context)
    return render(
        request,
        "survey/dashboard.html",
        active="survey",
        compare=compare or "",
        can_import=actor.can(Permission.SURVEY_IMPORT),
        can_filter=service.may_filter(actor),
        **context,
    )


@router.get("/survey/import")
def import_form(request: Request, session: DbSession, actor: PageActor) -> HTMLResponse:
    if not actor.can(Permission.SURVEY_IMPORT):  # answered here, while the request's user is still loaded
        return render(request, "error.html", 403, title=_("Sorry"), message=_("You are not allowed to do this."))
    return render(request, "survey/import.html", active="survey", **_form(session, actor))


def _form(session, actor) -> dict[str, Any]:
    return {"recent": uploads.list_uploads(session, actor), "states": STATES, **_limits()}


@router.post("/survey/import", dependencies=[Depends(csrf_protect)])
@upload_route  # a file: up to SMEAI_UPLOAD_MAX_BYTES, not the 1 MiB JSON/form limit
async def import_upload(
    request: Request,
    session: DbSession,
    actor: PageActor,
    wave: Annotated[str, Form()],
    file: Annotated[UploadFile, File()],
    name: Annotated[str, Form()] = "",
) -> Response:
    """Store the file and answer at once: the import runs in the background and its page shows progress."""
    try:
        upload = await uploads.receive(
            session, actor, app_settings(request), file, wave_code=wave, wave_name=name or None
        )
    except Invalid as exc:
        session.rollback()
        fields = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
        return render(
            request,
            "survey/import.html",
            422,
            active="survey",
            wave=wave,
            **_form(session, actor),
            messages=[("error", f"{_(exc.message)} {fields}".strip())],
        )
    return RedirectResponse(f"/survey/imports/{upload.id}", status_code=303)


STATES = {
    "queued": N_("Waiting to start"),
    "validating": N_("Checking the file"),
    "importing": N_("Writing the rows"),
    "done": N_("Imported"),
    "failed": N_("Failed"),
}


def _upload_view(session, actor, upload_id: int) -> dict[str, Any]:
    upload = uploads.get_upload(session, actor, upload_id)
    return {
        "upload": upload,
        "record": uploads.result_of(session, upload),
        "percent": uploads.percent(upload),
        "states": STATES,
        "size": _size(upload.size_bytes),
    }


def _size(n: int) -> str:
    return f"{n / 2**20:,.1f} MB" if n >= 2**20 else f"{max(1, round(n / 2**10))} KB"


@router.get("/survey/imports/{upload_id}")
def upload_page(request: Request, upload_id: RecordId, session: DbSession, actor: PageActor) -> HTMLResponse:
    return render(request, "survey/upload.html", active="survey", **_upload_view(session, actor, upload_id))


@router.get("/survey/imports/{upload_id}/progress")
def upload_progress(request: Request, upload_id: RecordId, session: DbSession, actor: PageActor) -> HTMLResponse:
    """The progress block alone (HTMX polls it every 2 s while the import runs; done, it holds the result)."""
    return render(request, "survey/_upload.html", **_upload_view(session, actor, upload_id))


def _limits() -> dict[str, int]:
    return {"max_rows": codebook.MAX_ROWS, "max_cols": codebook.MAX_COLUMNS}


@router.get("/survey/report.{fmt}")
def report_download(
    fmt: str,
    request: Request,
    session: DbSession,
    actor: PageActor,
    wave: str | None = None,
    province: str | None = None,
    section: str | None = None,
    group: str | None = None,
) -> Response:
    filters = service.Filters(province=province or None, section=section or None, group=group or None)
    chosen = service.get_wave(session, actor, wave) if wave else service.latest_wave(session, actor)
    if chosen is None or fmt not in ("pdf", "xlsx"):
        raise service.NotFound(_("Survey wave not found."))
    body, media = report.render(
        session, actor, chosen.code, fmt=fmt, filters=filters, small_cell_min=app_settings(request).small_cell_min
    )
    session.commit()  # the export's audit entry
    return Response(body, media_type=media, headers=attachment(f"survey-{chosen.code}.{fmt}"))
