"""Files through one interface: a local folder or an S3-compatible store (a real local S3 server, moto's
server mode, not mocks); uploads land there, are read back from there, and orphans are swept by a job."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from smeai.jobs.registry import by_name, sweep_orphans
from smeai.storage import LocalStorage, NotStored, check_key, open_storage, orphans, storage_for
from smeai.subsidy.programmes import DocKind
from tests import builders
from tests.subsidy import builders as sb

BUCKET = "smeai-files"
CREDENTIALS = {"storage_key_id": "testing", "storage_secret_key": "testing", "storage_region": "us-east-1"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture(scope="module")
def s3_endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    boto3.client("s3", endpoint_url=endpoint, **keys).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


def _s3(endpoint: str, prefix: str):
    return open_storage(
        f"s3://{BUCKET}/{prefix}",
        var_dir=Path("/nonexistent"),
        endpoint_url=endpoint,
        key_id="testing",
        secret_key="testing",
        region="us-east-1",
    )


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "files")
    return _s3(request.getfixturevalue("s3_endpoint"), f"t-{tmp_path.name}")


def test_put_get_list_delete(store):
    store.put("uploads/subsidy/1/a.pdf", b"%PDF-1 one")
    store.put("uploads/subsidy/1/a.pdf", b"%PDF-1 two")  # replaced whole
    store.put("uploads/subsidy/2/b.png", PNG)
    store.put("licences/org-1-x.png", PNG)
    assert store.get("uploads/subsidy/1/a.pdf") == b"%PDF-1 two"
    assert store.exists("licences/org-1-x.png") and not store.exists("licences/none.png")
    listed = store.list("uploads/")
    assert [o.key for o in listed] == ["uploads/subsidy/1/a.pdf", "uploads/subsidy/2/b.png"]
    assert listed[0].size == len(b"%PDF-1 two")
    assert abs(listed[0].modified - datetime.now(UTC)) < timedelta(minutes=5)
    store.delete("uploads/subsidy/1/a.pdf")
    store.delete("uploads/subsidy/1/a.pdf")  # twice: nothing happens
    with pytest.raises(NotStored):
        store.get("uploads/subsidy/1/a.pdf")
    assert store.list("nothing/") == []


def test_a_file_is_stored_from_disk_and_read_back_as_a_local_file(store, tmp_path):
    big = tmp_path / "big.csv"
    big.write_bytes(b"a,b\n" + b"1,2\n" * 600_000)  # 2.4 MB: more than one block
    store.put_file("uploads/survey/x.csv", big)
    assert store.list("uploads/survey/")[0].size == big.stat().st_size
    with store.local_path("uploads/survey/x.csv") as path:
        assert path.read_bytes() == big.read_bytes()
    with pytest.raises(NotStored), store.local_path("uploads/survey/none.csv"):
        pass


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../var/secret_key", "a/../../b", "a//b", "a\\b", "a/./b", "x\0y"])
def test_a_key_that_could_leave_the_store_is_refused(store, key):
    with pytest.raises(ValueError):
        check_key(key)
    with pytest.raises(ValueError):
        store.put(key, b"x")


def test_a_local_file_is_never_executable_and_no_partial_file_is_listed(tmp_path):
    store = LocalStorage(tmp_path)
    store.put("uploads/a.pdf", b"%PDF")
    assert (tmp_path / "uploads" / "a.pdf").stat().st_mode & 0o777 == 0o640
    (tmp_path / "uploads" / ".b.pdf.part").write_bytes(b"half")  # a write interrupted by a crash
    assert [o.key for o in store.list("uploads/")] == ["uploads/a.pdf"]


def test_orphans_are_unnamed_and_older_than_the_grace(store):
    store.put("uploads/subsidy/1/named.pdf", b"%PDF")
    store.put("uploads/subsidy/1/orphan.pdf", b"%PDF")
    later = datetime.now(UTC) + timedelta(hours=25)
    found = orphans(store, "uploads/", {"uploads/subsidy/1/named.pdf"}, older_than=timedelta(hours=24), now=later)
    assert [o.key for o in found] == ["uploads/subsidy/1/orphan.pdf"]
    assert orphans(store, "uploads/", set(), older_than=timedelta(hours=24)) == []  # too young: may be in flight


def test_an_unknown_scheme_is_refused(tmp_path):
    with pytest.raises(ValueError, match="SMEAI_STORAGE_URL"):
        open_storage("ftp://files/x", var_dir=tmp_path)
    default = open_storage("", var_dir=tmp_path)
    assert isinstance(default, LocalStorage) and default.root == tmp_path.resolve()  # where earlier releases kept files
    assert LocalStorage(tmp_path).url == open_storage(tmp_path.as_uri(), var_dir=Path("/x")).url


# --- the app on an S3 store --------------------------------------------------------------------------------


@pytest.fixture
def settings(settings, s3_endpoint, tmp_path):  # the app under test keeps its files in S3
    return settings.model_copy(
        update={"storage_url": f"s3://{BUCKET}/app-{tmp_path.name}", "storage_endpoint_url": s3_endpoint, **CREDENTIALS}
    )


def test_uploads_go_to_s3_and_come_back_and_orphans_are_swept(settings, session, client_for, tmp_path):
    store = storage_for(settings)
    assert store.url.startswith(f"s3://{BUCKET}/app-")
    firm = sb.beijing_enterprise(session)
    application = sb.apply(session, firm, contract=False)
    session.commit()
    api = client_for(firm)
    r = api.post(
        f"/api/v1/subsidy/applications/{application.id}/documents",
        data={"kind": DocKind.CONTRACT.value},
        files={"file": ("合同.pdf", sb.PDF, "application/pdf")},
    )
    assert r.status_code == 201, r.text
    doc_id = r.json()["id"]
    r = api.get(f"/api/v1/subsidy/applications/{application.id}/documents/{doc_id}")
    assert r.status_code == 200 and r.content == sb.PDF
    [stored] = store.list("uploads/")
    assert stored.key.startswith(f"uploads/subsidy/{application.id}/") and store.get(stored.key) == sb.PDF
    assert not (settings.var_dir / "uploads").exists()  # nothing on the local disk

    first = api.post("/api/v1/organisation/licence", files={"file": ("执照.png", PNG, "image/png")})
    assert first.status_code == 200, first.text
    second = api.post("/api/v1/organisation/licence", files={"file": ("执照.png", PNG + b"2", "image/png")})
    assert second.status_code == 200
    r = api.get(f"/api/v1/organisations/{firm.org_id}/licence")
    assert r.status_code == 200 and r.content == PNG + b"2" and r.headers["content-type"] == "image/png"
    other = builders.enterprise(session)
    session.commit()
    assert client_for(other).get(f"/api/v1/organisations/{firm.org_id}/licence").status_code == 404

    store.put(f"uploads/subsidy/{application.id}/crashed-before-commit.pdf", sb.PDF)
    assert len(store.list("licences/")) == 2  # the first licence, replaced, is named by no one now
    assert sweep_orphans(settings) == "0 orphaned file(s) removed"  # younger than the grace
    assert sweep_orphans(settings, now=datetime.now(UTC) + timedelta(hours=25)) == "2 orphaned file(s) removed"
    assert [o.key for o in store.list("uploads/")] == [stored.key]
    assert len(store.list("licences/")) == 1
    assert api.get(f"/api/v1/organisations/{firm.org_id}/licence").content == PNG + b"2"
    assert by_name("storage-orphans") is not None


def test_an_operator_programme_file_is_kept_in_s3(settings, session, monkeypatch):
    from smeai.subsidy import programme_files, programmes

    store = storage_for(settings)
    monkeypatch.setattr(programmes, "operator_store", lambda: store)
    text = (programmes.DATA / "chengdu-model.yaml").read_text(encoding="utf-8").replace("成都", "成都市", 1)
    uploaded = programme_files.upload_programme(session, builders.operator(session), text.encode(), uploaded_by="运营")
    assert store.get("subsidy/programmes/chengdu-model.yaml").decode() == text
    assert programmes.all_programmes()["chengdu-model"].version == uploaded.version
    assert programme_files.versions("chengdu-model")[0].version == uploaded.version
    assert programme_files.version_text("chengdu-model", uploaded.version) == text
