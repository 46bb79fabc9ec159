"""The worker's collector policy (engine.collector): survivors of a full collection are frozen,
and the whole heap is scanned again once the frozen part has grown by `growth`."""

import gc
import weakref

import pytest

from engine.collector import FrozenSurvivors


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> Node:
    """A pair of objects referring to each other: once the caller drops the one it gets, only a
    scan of the heap can free them."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a


@pytest.fixture
def collector():
    survivors = FrozenSurvivors(growth=1.05)
    gc.collect()
    survivors.install()
    try:
        yield survivors
    finally:
        survivors.uninstall()


def test_what_survives_a_full_collection_is_left_out_of_the_next(collector):
    gc.collect()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    kept = [[] for _ in range(1000)]  # survivors of the next collection: frozen by it
    gc.collect()
    assert frozen + 1000 <= gc.get_freeze_count() < 1.05 * frozen  # no whole scan yet
    assert kept


def test_garbage_in_cycles_among_frozen_objects_is_freed_once_the_frozen_heap_has_grown(
    collector,
):
    pair = cycle()
    watched = weakref.ref(pair)
    gc.collect()  # the pair survives, and is frozen
    del pair
    gc.collect()
    assert watched() is not None  # garbage now, but frozen: no scan sees it
    grown = [[] for _ in range(int(0.06 * gc.get_freeze_count()))]
    gc.collect()  # freezes the new survivors, finds the frozen heap grown: unfreezes it all
    assert gc.get_freeze_count() == 0
    gc.collect()  # the whole scan: the cycle is freed, what lives is frozen again
    assert watched() is None
    assert gc.get_freeze_count() > len(grown)


def test_uninstalled_it_gives_every_object_back_to_the_collector():
    survivors = FrozenSurvivors()
    survivors.install()
    gc.collect()
    assert gc.get_freeze_count() > 0
    survivors.uninstall()
    assert gc.get_freeze_count() == 0 and survivors._collected not in gc.callbacks


def test_growth_must_exceed_one():
    with pytest.raises(ValueError, match="growth"):
        FrozenSurvivors(growth=1)
