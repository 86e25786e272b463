from __future__ import annotations

import re

from bs4 import BeautifulSoup

from smeai.assessment import instruments, service
from smeai.assessment.schemas import AssessmentIn
from tests import builders
from tests.assessment.answers import worst

INST = instruments.get_instrument("smeai-ai-maturity")


def _form(dim, answers):
    data = {}
    for q in dim.questions:
        value = answers[q.id]
        if value == [] and any(o.exclusive for o in q.options):  # the page asks for an explicit "none"
            value = [next(o.id for o in q.options if o.exclusive)]
        data[f"q_{q.id}"] = value
    return data


def test_newcomer_sees_an_invitation_to_log_in(client):
    r = client.get("/assessment")
    assert r.status_code == 200 and "/login?next=/assessment" in r.text


def test_questionnaire_step_by_step_to_the_result_and_pdf(session, page_client_for):
    firm = builders.enterprise(session, profile={})
    web = page_client_for(firm)
    r = web.post("/assessment/start", data={"csrf_token": web.csrf, "instrument": INST.id}, follow_redirects=False)
    assert r.status_code == 303
    base = r.headers["location"].removesuffix("/step/1")
    page = BeautifulSoup(web.get(f"{base}/step/1").text, "html.parser")
    assert len(page.select(".asm-q")) == len(INST.dimensions[0].questions)
    answers = worst(INST)
    for n, dim in enumerate(INST.dimensions, 1):
        data = {"csrf_token": web.csrf, "go": "next"} | _form(dim, answers)
        r = web.post(f"{base}/step/{n}", data=data, follow_redirects=False)
        assert r.status_code == 303, r.text[:500]
    assert r.headers["location"].endswith("/review")
    assert 'id="finish"' in web.get(f"{base}/review").text
    r = web.post(f"{base}/complete", data={"csrf_token": web.csrf}, follow_redirects=False)
    assert r.headers["location"] == base
    result = web.get(base)
    assert result.status_code == 200 and 'id="radar"' in result.text
    assert re.search(r"data-level=\"beginner\"", result.text)
    pdf = web.get(f"{base}/report.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_autosave_keeps_answers_and_reports_bad_ones(session, page_client_for):
    firm = builders.enterprise(session)
    a = service.start_assessment(session, firm, AssessmentIn())
    session.commit()
    web = page_client_for(firm)
    r = web.post(
        f"/assessment/{a.id}/step/3/autosave",
        data={"q_t_staff": "4", "q_t_usage": "r2"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200
    session.expunge_all()
    assert service.get_assessment(session, firm, a.id).answers == {"t_staff": 4.0, "t_usage": "r2"}
    r = web.post(f"/assessment/{a.id}/step/3/autosave", data={"q_t_staff": "lots"}, headers={"HX-Request": "true"})
    assert r.status_code == 422
    r = web.post(f"/assessment/{a.id}/step/3", data={"q_t_staff": "lots", "go": "next"})
    assert r.status_code == 422 and "expected a number" in r.text


def test_multi_with_nothing_ticked_stays_open_when_it_has_a_none_option(session, page_client_for):
    firm = builders.enterprise(session)
    a = service.start_assessment(session, firm, AssessmentIn())
    session.commit()
    web = page_client_for(firm)
    web.post(f"/assessment/{a.id}/step/2/autosave", data={"q_d_quantity": "r1"})
    session.expunge_all()
    assert "d_types" not in service.get_assessment(session, firm, a.id).answers


def test_operators_open_any_result(session, page_client_for):
    done = service.submit_answer_file(
        session, builders.enterprise(session), {"instrument": INST.id, "answers": worst(INST)}
    )
    session.commit()
    assert page_client_for(builders.operator(session)).get(f"/assessment/{done.id}").status_code == 200


def test_another_enterprise_cannot_open_the_result_or_pdf(session, page_client_for):
    a, b = builders.enterprise(session), builders.enterprise(session)
    done = service.submit_answer_file(session, a, {"instrument": INST.id, "answers": worst(INST)})
    session.commit()
    web = page_client_for(b)
    web.raise_server_exceptions = False
    assert web.get(f"/assessment/{done.id}").status_code == 404
    assert web.get(f"/assessment/{done.id}/report.pdf").status_code == 404


def test_compare_page_shows_the_change_per_dimension(session, page_client_for):
    firm = builders.enterprise(session)
    first = service.submit_answer_file(session, firm, {"instrument": INST.id, "answers": worst(INST)})
    second = service.submit_answer_file(
        session, firm, {"instrument": INST.id, "answers": worst(INST) | {"d_storage": "lake"}}
    )
    session.commit()
    web = page_client_for(firm)
    index = BeautifulSoup(web.get("/assessment").text, "html.parser")
    options = [o.get_text(" ", strip=True) for o in index.select("#cmp-a option")]
    assert len(options) == 2 and not any("#" in o for o in options)  # dates and levels, not ids
    assert all(re.match(r"\d{4}-\d\d-\d\d · L1 起步 · \d+\.\d", o) for o in options), options
    page = BeautifulSoup(web.get(f"/assessment/compare?a={second.id}&b={first.id}").text, "html.parser")
    row = page.select_one("tr[data-dimension=data]")
    assert row is not None and "+" in row.get_text()
    english = web.get(f"/assessment/compare?a={second.id}&b={first.id}&lang=en").text
    assert "L1 · Starting" in english and "起步" not in english  # level names in the reader's language


def test_result_says_how_many_peers_the_comparison_needs_and_what_the_levels_are(session, page_client_for):
    firm = builders.enterprise(session)
    done = service.submit_answer_file(session, firm, {"instrument": INST.id, "answers": worst(INST)})
    session.commit()
    page = BeautifulSoup(page_client_for(firm).get(f"/assessment/{done.id}").text, "html.parser")
    suppressed = page.select_one("[data-suppressed]")
    assert suppressed is not None and "10" in suppressed.get_text()  # SMEAI_SMALL_CELL_MIN's default
    assert "专精特新" in page.select_one("[data-levels-note]").get_text()
    assert len(page.select("[data-rec]")) >= 3


def test_result_page_shows_the_survey_stage_distribution(session, page_client_for):
    from smeai.survey import service as survey
    from smeai.survey import synth

    header, rows = synth.text_rows(synth.generate(150, 7))
    survey.import_file(
        session,
        builders.analyst(session),
        "2025",
        "\n".join(",".join(r) for r in [header, *rows]).encode(),
        filename="s.csv",
    )
    firm = builders.enterprise(session, profile={})
    done = service.submit_answer_file(session, firm, {"instrument": INST.id, "answers": worst(INST)})
    session.commit()
    page = page_client_for(firm).get(f"/assessment/{done.id}")
    assert "data-survey-stage" in page.text


def test_dma_result_and_report_render_without_stages_or_roles(session, page_client_for):
    dma = instruments.get_instrument("eu-dma")
    firm = builders.enterprise(session)
    done = service.submit_answer_file(session, firm, {"instrument": dma.id, "answers": worst(dma)})
    session.commit()
    web = page_client_for(firm)
    page = web.get(f"/assessment/{done.id}")
    assert page.status_code == 200 and 'data-level="basic"' in page.text and "data-stage" not in page.text
    assert web.get(f"/assessment/{done.id}/report.pdf").content.startswith(b"%PDF")


def test_landing_page_asks_for_the_profile_first(session, page_client_for):
    bare = page_client_for(builders.enterprise(session))
    assert 'id="profile-hint"' in bare.get("/assessment").text
    done = page_client_for(builders.enterprise(session, profile={}))
    assert 'id="profile-hint"' not in done.get("/assessment").text


def test_result_page_writes_full_width_colons_in_chinese(session, page_client_for):
    firm = builders.enterprise(session)
    done = service.submit_answer_file(session, firm, {"instrument": INST.id, "answers": worst(INST)})
    session.commit()
    web = page_client_for(firm)
    zh = BeautifulSoup(web.get(f"/assessment/{done.id}").text, "html.parser")
    text = zh.select_one("main").get_text(" ") if zh.select_one("main") else zh.get_text(" ")
    assert not re.findall(r"[\u3400-\u9fff）]: ", text)
    assert "：" in " ".join(li.get_text() for li in zh.select("[data-rec] li"))
    en = BeautifulSoup(web.get(f"/assessment/{done.id}?lang=en").text, "html.parser")
    assert "：" not in " ".join(li.get_text() for li in en.select("[data-rec] li"))


def test_pdf_report_writes_full_width_colons_in_chinese(session, page_client_for, monkeypatch):
    import reportlab.platypus

    texts: list[str] = []

    class Recording(reportlab.platypus.Paragraph):
        def __init__(self, text, *args, **kwargs):
            texts.append(str(text))
            super().__init__(text, *args, **kwargs)

    monkeypatch.setattr(reportlab.platypus, "Paragraph", Recording)
    firm = builders.enterprise(session)
    done = service.submit_answer_file(session, firm, {"instrument": INST.id, "answers": worst(INST)})
    session.commit()
    web = page_client_for(firm)
    assert web.get(f"/assessment/{done.id}/report.pdf").content.startswith(b"%PDF")
    zh = " ".join(texts)
    assert "：" in zh and not re.findall(r"[\u3400-\u9fff）]: ", zh)
    texts.clear()
    assert web.get(f"/assessment/{done.id}/report.pdf?lang=en").content.startswith(b"%PDF")
    assert texts and "：" not in " ".join(texts)
