from starlette.datastructures import QueryParams

from smeai.web.page_links import page_links


def test_page_links_keep_the_query_encoded():
    links = page_links("/catalog", QueryParams("q=C%2B%2B+%26+AI&kind=saas&kind=agent&page=3"), 60)
    assert len(links) == 50 and links[0] == (1, "/catalog?q=C%2B%2B+%26+AI&kind=saas&kind=agent&page=1")
    assert QueryParams(links[1][1].partition("?")[2]).get("q") == "C++ & AI"
