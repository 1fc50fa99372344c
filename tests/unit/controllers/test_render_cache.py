from typing import Any

from greenshift.controllers.render_cache import RenderCache, fingerprint


def obj(uid: str | None, generation: int) -> dict[str, Any]:
    return {"metadata": {"uid": uid, "generation": generation}}


def test_a_render_is_reused_until_the_resource_or_its_tenant_changes() -> None:
    cache = RenderCache()
    calls: list[int] = []

    def render() -> list[dict[str, Any]]:
        calls.append(1)
        return [{"kind": "ConfigMap"}]

    first = cache.get(fingerprint(obj("s", 1), obj("t", 1)), render)
    again = cache.get(fingerprint(obj("s", 1), obj("t", 1)), render)
    assert again == first
    assert again is not first  # a copy: a caller cannot change the cached render
    cache.get(fingerprint(obj("s", 2), obj("t", 1)), render)  # spec changed
    cache.get(fingerprint(obj("s", 2), obj("t", 2)), render)  # tenant changed
    assert len(calls) == 3


def test_the_cache_is_bounded_and_never_keeps_objects_without_uid() -> None:
    cache = RenderCache(size=2)
    for uid in ("a", "b", "c"):
        cache.get(fingerprint(obj(uid, 1)), list)
    assert len(cache) == 2
    cache.get(fingerprint(obj(None, 1)), list)
    assert len(cache) == 2


def test_a_resource_keeps_only_its_last_render() -> None:
    cache = RenderCache()
    for generation in (1, 2, 3):
        cache.get(fingerprint(obj("s", generation), obj("t", 1)), lambda: [{"kind": "ConfigMap"}])
    assert len(cache) == 1
