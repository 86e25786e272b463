"""The pages' bounded caches: the least recently used entry goes first, a read counts as a use."""

from smeai.lru import Bounded


def test_the_least_recently_used_entry_is_dropped_first():
    cache: Bounded[str] = Bounded(2)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"  # "a" is now the most recently used
    cache.put("c", "C")
    assert (cache.get("a"), cache.get("b"), cache.get("c"), len(cache)) == ("A", None, "C", 2)
    cache.clear()
    assert cache.get("a") is None and len(cache) == 0
