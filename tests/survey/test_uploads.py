"""Survey uploads imported in the background: queued → validating → importing → done with progress, the wave
invisible until the import committed whole, a bad file's reasons named, a crashed runner's upload taken up by
the job, one runner per upload however many race, each organisation seeing only its own."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select, update

from smeai.auth.audit import AuditEntry
from smeai.auth.models import User
from smeai.db import get_sessionmaker, utcnow
from smeai.errors import Forbidden, NotFound
from smeai.jobs import registry
from smeai.storage import storage_for
from smeai.survey import service, synth, uploads
from smeai.survey.models import SurveyImport, SurveyResponse, SurveyUpload, SurveyWave
from tests import builders
from tests.screens import problems_on
from tests.survey import handmade


class Crash(BaseException):
    """A runner's process dying mid-import: nothing of the runner's own handling runs."""


def _file(tmp_path: Path, text: str, name: str = "s.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def _synth_csv(n: int, seed: int = 3, invalid: int = 0) -> str:
    header, rows = synth.text_rows(synth.generate(n, seed), invalid=invalid, seed=seed)
    return "\n".join(",".join(r) for r in [header, *rows])


def _queue(session, settings, actor, path: Path, wave: str = "2025") -> SurveyUpload:
    upload = uploads.queue(session, actor, storage_for(settings), path, wave_code=wave, filename=path.name)
    session.commit()
    return upload


def _fresh(settings, upload_id: int) -> SurveyUpload:
    with get_sessionmaker(settings.database_url)() as s:
        upload = s.get(SurveyUpload, upload_id)
        assert upload is not None
        s.expunge(upload)
        return upload


def _wave_visible(settings, code: str = "2025") -> bool:
    with get_sessionmaker(settings.database_url)() as s:
        return s.scalar(select(SurveyWave).where(SurveyWave.code == code)) is not None


def _responses(settings) -> int:
    with get_sessionmaker(settings.database_url)() as s:
        return s.scalar(select(func.count()).select_from(SurveyResponse)) or 0


def test_an_upload_goes_from_queued_to_done_with_progress_moving_and_the_wave_appears_only_then(
    session, settings, tmp_path, monkeypatch, backend
):
    analyst = builders.analyst(session)
    upload = _queue(session, settings, analyst, _file(tmp_path, _synth_csv(12_000)))
    assert (upload.state, uploads.percent(upload)) == ("queued", 0)
    store = storage_for(settings)
    assert store.exists(upload.file_key)

    seen: list[tuple[str, int, int | None, int, bool]] = []
    real = uploads._reporter

    def watching(factory, upload_id, me, *, live_rows):
        report = real(factory, upload_id, me, live_rows=live_rows)

        def observe(stage, done, total):
            report(stage, done, total)
            now = _fresh(settings, upload_id)  # what another request (the page) reads now
            seen.append((now.state, now.rows_done, now.rows_total, uploads.percent(now), _wave_visible(settings)))

        return observe

    monkeypatch.setattr(uploads, "_reporter", watching)
    monkeypatch.setattr(uploads, "PROGRESS_EVERY_S", 0)
    assert uploads.run(settings.database_url, store, upload.id) == "done"

    states = [s[0] for s in seen]
    assert states[0] == "validating" and "importing" in states
    assert not any(s[4] for s in seen)  # the wave was never visible before the import committed
    percents = [s[3] for s in seen]
    assert percents == sorted(percents) and percents[0] < percents[-1]
    if backend == "postgresql":  # another session may write meanwhile: rows written show as they go
        written = [s[1] for s in seen if s[0] == "importing"]
        assert len(set(written)) >= 3 and written == sorted(written)
    done = _fresh(settings, upload.id)
    assert (done.state, uploads.percent(done), done.rows_total, done.rows_done) == ("done", 100, 12_000, 12_000)
    assert _wave_visible(settings) and _responses(settings) == 12_000
    assert not store.exists(upload.file_key)  # done: the file is dropped
    actions = set(session.scalars(select(AuditEntry.action)))
    assert {"survey.upload", "survey.import"} <= actions


def test_a_bad_file_names_every_rejected_row_and_a_refused_file_leaves_only_its_record(session, settings, tmp_path):
    analyst = builders.analyst(session)
    store = storage_for(settings)
    upload = _queue(session, settings, analyst, _file(tmp_path, handmade.csv_text()))
    assert uploads.run(settings.database_url, store, upload.id) == "done"
    done = _fresh(settings, upload.id)
    assert {(r["row"], r["column"], r["rule"]) for r in done.reasons} == handmade.expected_reasons()
    assert done.n_reasons == len(handmade.expected_reasons())
    record = session.get(SurveyImport, done.import_id)
    assert (record.n_inserted, record.n_rejected) == (8, 20)

    refused = _queue(session, settings, analyst, _file(tmp_path, handmade.csv_text(drop=("ai_status",))), "2026")
    assert uploads.run(settings.database_url, store, refused.id) == "failed"
    failed = _fresh(settings, refused.id)
    assert failed.error_message and "ai_status" in failed.error_fields and failed.import_id is None
    assert not _wave_visible(settings, "2026") and not store.exists(refused.file_key)
    assert "survey.upload_failed" in set(session.scalars(select(AuditEntry.action)))


def test_a_runner_that_dies_midway_leaves_nothing_and_the_job_imports_the_file_again(
    session, settings, tmp_path, monkeypatch
):
    analyst = builders.analyst(session)
    upload = _queue(session, settings, analyst, _file(tmp_path, _synth_csv(300)))
    real = uploads._reporter

    def dying(factory, upload_id, me, *, live_rows):
        report = real(factory, upload_id, me, live_rows=live_rows)

        def crash_on_write(stage, done, total):
            report(stage, done, total)
            if stage == "importing" and done > 0:
                raise Crash  # the rows are half written in the open transaction

        return crash_on_write

    monkeypatch.setattr(uploads, "_reporter", dying)
    monkeypatch.setattr(service, "INSERT_BATCH", 100)
    with pytest.raises(Crash):
        uploads.run(settings.database_url, storage_for(settings), upload.id, me="worker-1")
    monkeypatch.setattr(uploads, "_reporter", real)

    stuck = _fresh(settings, upload.id)
    assert stuck.state == "importing" and stuck.claimed_by == "worker-1"
    assert not _wave_visible(settings) and _responses(settings) == 0
    # the orphan sweep, long after the grace, keeps the file a running import still needs
    later = utcnow() + timedelta(hours=settings.orphan_grace_hours + 1)
    assert registry.sweep_orphans(settings, now=later) == "0 orphaned file(s) removed"
    assert storage_for(settings).exists(stuck.file_key)
    # while the claim holds, the job leaves the upload alone; once it lapses, the job takes it up
    assert registry.survey_imports(settings).startswith("0 survey upload(s) waiting")
    with get_sessionmaker(settings.database_url)() as s:
        s.execute(update(SurveyUpload).values(claimed_until=utcnow() - timedelta(seconds=1)))
        s.commit()
    assert registry.survey_imports(settings) == "1 survey upload(s) waiting: 1 imported, 0 failed"
    done = _fresh(settings, upload.id)
    assert (done.state, done.attempts) == ("done", 2) and _responses(settings) == 300


def test_a_worker_stopping_in_good_order_lets_its_claims_lapse_and_the_job_resumes_them_at_once(
    session, settings, tmp_path, monkeypatch
):
    analyst = builders.analyst(session)
    upload = _queue(session, settings, analyst, _file(tmp_path, _synth_csv(200)))
    real = uploads._reporter
    checking, go_on = threading.Event(), threading.Event()

    def pausing(factory, upload_id, me, *, live_rows):
        report = real(factory, upload_id, me, live_rows=live_rows)

        def pause_while_checking(stage, done, total):
            report(stage, done, total)
            if me == "worker-1" and stage == "validating":
                checking.set()
                go_on.wait(60)

        return pause_while_checking

    monkeypatch.setattr(uploads, "_reporter", pausing)
    ended: list[str | None] = []
    worker = threading.Thread(
        target=lambda: ended.append(uploads.run(settings.database_url, storage_for(settings), upload.id, me="worker-1"))
    )
    worker.start()
    assert checking.wait(60)
    # the claim holds for its lease: the job leaves the upload alone
    assert registry.survey_imports(settings).startswith("0 survey upload(s) waiting")
    # the worker's process is stopping: its claim lapses now, and the job's next run resumes the upload
    assert uploads.release_held(settings.database_url) == 1
    assert registry.survey_imports(settings) == "1 survey upload(s) waiting: 1 imported, 0 failed"
    go_on.set()
    worker.join(60)
    assert ended == [None]  # the stopping worker's runner found its claim taken and wrote nothing
    done = _fresh(settings, upload.id)
    assert (done.state, done.attempts) == ("done", 2) and _responses(settings) == 200
    assert uploads.release_held(settings.database_url) == 0  # nothing held any more


def test_the_portal_lets_its_claims_lapse_when_it_stops(settings, monkeypatch):
    from fastapi.testclient import TestClient

    from smeai.app import create_app

    stopped: list[str] = []
    monkeypatch.setattr(uploads, "release_held", lambda url, **kw: stopped.append(url) or 0)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        assert stopped == []
    assert stopped == [settings.database_url]


def test_a_queued_upload_no_worker_started_is_taken_up_and_one_that_keeps_dying_fails_clearly(
    session, settings, tmp_path
):
    analyst = builders.analyst(session)
    upload = _queue(session, settings, analyst, _file(tmp_path, handmade.csv_text()))
    with get_sessionmaker(settings.database_url)() as s:
        assert uploads.waiting(s) == []  # just queued: its worker is about to start it
        assert uploads.waiting(s, utcnow() + uploads.QUEUED_GRACE + timedelta(seconds=1)) == [upload.id]
        s.execute(update(SurveyUpload).values(created_at=utcnow() - timedelta(minutes=5)))
        s.commit()
    assert registry.survey_imports(settings).endswith("1 imported, 0 failed")

    again = _queue(session, settings, analyst, _file(tmp_path, handmade.csv_text()), "2026")
    with get_sessionmaker(settings.database_url)() as s:  # three runners died with it already
        s.execute(
            update(SurveyUpload)
            .where(SurveyUpload.id == again.id)
            .values(state="importing", attempts=uploads.MAX_ATTEMPTS, claimed_until=utcnow() - timedelta(seconds=1))
        )
        s.commit()
    assert registry.survey_imports(settings).endswith("0 imported, 1 failed")
    failed = _fresh(settings, again.id)
    assert failed.state == "failed" and "several times" in failed.error_message
    assert not _wave_visible(settings, "2026")


def test_runners_racing_for_one_upload_run_it_exactly_once(session, settings, tmp_path):
    analyst = builders.analyst(session)
    upload = _queue(session, settings, analyst, _file(tmp_path, handmade.csv_text()))
    store = storage_for(settings)
    barrier = threading.Barrier(4)
    ended: list[str | None] = []
    errors: list[BaseException] = []

    def race(me: str) -> None:
        barrier.wait()
        try:
            ended.append(uploads.run(settings.database_url, store, upload.id, me=me))
        except BaseException as exc:  # surfaced below: a runner must not crash on a lost race
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(f"runner-{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert ended.count("done") == 1 and ended.count(None) == 3
    assert session.scalar(select(func.count()).select_from(SurveyImport)) == 1
    assert _fresh(settings, upload.id).attempts == 1
    assert _responses(settings) == 8


def test_each_organisation_sees_only_its_own_uploads_and_error_files(session, settings, tmp_path, client_for):
    ours, theirs = builders.analyst(session), builders.analyst(session, "另一赋能中心")
    member = builders.enterprise(session)
    upload = _queue(session, settings, ours, _file(tmp_path, handmade.csv_text()))
    uploads.run(settings.database_url, storage_for(settings), upload.id)
    session.expire_all()
    assert [u.id for u in uploads.list_uploads(session, ours)] == [upload.id]
    assert uploads.list_uploads(session, theirs) == []
    with pytest.raises(NotFound):
        uploads.get_upload(session, theirs, upload.id)
    with pytest.raises(Forbidden):
        uploads.get_upload(session, member, upload.id)
    with pytest.raises(Forbidden):
        uploads.queue(session, member, storage_for(settings), tmp_path / "s.csv", wave_code="x", filename="s.csv")
    import_id = _fresh(settings, upload.id).import_id
    with pytest.raises(NotFound):
        service.get_import(session, theirs, import_id)
    assert service.get_import(session, ours, import_id).id == import_id
    api = client_for(theirs)
    assert api.get(f"/api/v1/survey/uploads/{upload.id}").status_code == 404
    assert api.get(f"/api/v1/survey/imports/{import_id}/errors.csv").status_code == 404
    assert client_for(ours).get(f"/api/v1/survey/imports/{import_id}/errors.csv").status_code == 200


def test_an_uploader_who_lost_the_right_to_import_cannot_finish(session, settings, tmp_path):
    analyst = builders.analyst(session)
    upload = _queue(session, settings, analyst, _file(tmp_path, handmade.csv_text()))
    session.get(User, analyst.user_id).is_active = False
    session.commit()
    assert uploads.run(settings.database_url, storage_for(settings), upload.id) == "failed"
    assert not _wave_visible(settings)


def test_the_api_answers_at_once_and_the_upload_reports_its_outcome(session, settings, client_for):
    api = client_for(builders.analyst(session))
    res = api.post("/api/v1/survey/waves/2025/uploads", files={"file": ("s.csv", handmade.csv_text().encode())})
    assert res.status_code == 202, res.text
    body = res.json()
    assert body["state"] in uploads.ACTIVE + uploads.FINISHED and body["wave"] == "2025"
    deadline = time.monotonic() + 60
    while not body["finished"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
        body = api.get(f"/api/v1/survey/uploads/{body['id']}").json()
    assert body["state"] == "done" and body["percent"] == 100
    result = body["result"]
    assert (result["n_inserted"], result["n_rejected"]) == (8, 20)
    assert result["n_reasons"] == len(handmade.expected_reasons())
    assert api.get(result["errors_url"]).status_code == 200
    bad = api.post("/api/v1/survey/waves/bad code/uploads", files={"file": ("s.csv", b"x")})
    assert bad.status_code == 422


@pytest.mark.parametrize("lang", ["zh_Hans", "en"])
def test_the_upload_page_shows_progress_and_outcome_in_words_without_codes_or_ids(
    session, settings, tmp_path, page_client_for, lang
):
    analyst = builders.analyst(session)
    web = page_client_for(analyst)
    queued = _queue(session, settings, analyst, _file(tmp_path, handmade.csv_text()))
    page = web.get(f"/survey/imports/{queued.id}?lang={lang}")
    soup = BeautifulSoup(page.text, "html.parser")
    block = soup.select_one("#upload")
    assert block["data-state"] == "queued" and block["hx-trigger"] == "every 2s"  # polls while it runs
    assert soup.select_one("progress#upload-progress") is not None
    assert problems_on(page.text, lang=lang) == []
    assert "queued" not in soup.select_one("main").get_text()

    uploads.run(settings.database_url, storage_for(settings), queued.id)
    part = web.get(f"/survey/imports/{queued.id}/progress?lang={lang}")
    done = BeautifulSoup(part.text, "html.parser")
    assert done.select_one("#upload")["data-state"] == "done" and not done.select_one("#upload").get("hx-trigger")
    assert len(done.select("#reasons tr")) == 1 + len(handmade.expected_reasons())
    full = web.get(f"/survey/imports/{queued.id}?lang={lang}").text
    trimmed = BeautifulSoup(full, "html.parser")
    trimmed.select_one("#reasons").decompose()  # the file's own column names and values, as written
    assert problems_on(str(trimmed), lang=lang) == []

    refused = _queue(session, settings, analyst, _file(tmp_path, handmade.csv_text(drop=("ai_status",))), "2026")
    uploads.run(settings.database_url, storage_for(settings), refused.id)
    failed = BeautifulSoup(web.get(f"/survey/imports/{refused.id}?lang={lang}").text, "html.parser")
    details = failed.select_one("#upload-error-fields")
    assert "ai_status" in details.get_text()  # the column the file lacks, by the codebook's name
    details.decompose()
    assert problems_on(str(failed), lang=lang) == []
    listing = web.get(f"/survey/import?lang={lang}").text
    assert len(BeautifulSoup(listing, "html.parser").select("#recent tr")) == 1 + 2
    assert problems_on(listing, lang=lang) == []


def test_another_organisation_gets_no_upload_page(session, settings, tmp_path, page_client_for):
    upload = _queue(session, settings, builders.analyst(session), _file(tmp_path, handmade.csv_text()))
    other = page_client_for(builders.analyst(session, "另一赋能中心"))
    assert other.get(f"/survey/imports/{upload.id}").status_code == 404
    assert other.get(f"/survey/imports/{upload.id}/progress").status_code == 404
    assert page_client_for(builders.enterprise(session)).get(f"/survey/imports/{upload.id}").status_code == 403
