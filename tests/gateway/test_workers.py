"""A key's per-minute limits hold across worker processes: two real `smeai serve` processes on one database
(before, each worker counted in its own memory, so a key limited to N requests a minute got N per worker)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.catalog.test_workers import workers  # noqa: F401 - the two `smeai serve` processes
from tests.gateway.conftest import chat, setup_org

RPM = 6
CALLS = 20


def test_a_key_limited_to_n_requests_a_minute_gets_n_across_two_workers(workers, session, scripted):  # noqa: F811
    s = setup_org(session, scripted.base_url, key={"rpm": RPM, "concurrency": CALLS})
    headers = {"Authorization": f"Bearer {s.secret}"}

    def call(i: int) -> int:
        url = workers[i % 2]
        body = chat(f"tokens=3 call=w{i}")
        return httpx.post(f"{url}/gateway/v1/chat/completions", json=body, headers=headers, timeout=60).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = Counter(pool.map(call, range(CALLS)))
    assert statuses == {200: RPM, 429: CALLS - RPM}, statuses
    served = [c for c in scripted.calls() if c["status"] == 200]
    assert len(served) == RPM  # the refused ones never went upstream
