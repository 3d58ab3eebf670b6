"""Albums: items of one media group, arriving as separate updates, gathered into one."""

from __future__ import annotations

import asyncio

from bot.media.albums import ALBUM_LIMIT, AlbumCollector
from tests.support import FakeClock


async def test_items_arriving_within_the_quiet_time_form_one_album_collected_by_the_first() -> None:
    collector: AlbumCollector[str] = AlbumCollector(quiet=0.2)
    album = collector.join("g", "first")
    assert album is not None
    collecting = asyncio.create_task(collector.collect("g", album))
    for item in ("second", "third"):
        await asyncio.sleep(0.05)
        assert collector.join("g", item) is None  # someone else is collecting
    assert await collecting == ["first", "second", "third"]


async def test_albums_of_different_keys_are_collected_apart() -> None:
    collector: AlbumCollector[int] = AlbumCollector(quiet=0.05)
    one, two = collector.join("a", 1), collector.join("b", 2)
    assert one is not None
    assert two is not None
    assert collector.join("a", 3) is None
    assert [await collector.collect("a", one), await collector.collect("b", two)] == [[1, 3], [2]]


async def test_an_item_arriving_after_its_album_closed_opens_a_new_one() -> None:
    collector: AlbumCollector[str] = AlbumCollector(quiet=0.05)
    first = collector.join("g", "early")
    assert first is not None
    assert await collector.collect("g", first) == ["early"]
    late = collector.join("g", "late")
    assert late is not None
    assert await collector.collect("g", late) == ["late"]


async def test_a_full_album_is_complete_without_waiting_for_more() -> None:
    collector: AlbumCollector[int] = AlbumCollector(quiet=60)
    album = collector.join("g", 0)
    assert album is not None
    for item in range(1, ALBUM_LIMIT):
        collector.join("g", item)
    # A generous bound: the quiet time of a minute is never waited for.
    items = await asyncio.wait_for(collector.collect("g", album), timeout=5)
    assert items == list(range(ALBUM_LIMIT))


async def test_a_discarded_album_is_forgotten_and_its_next_item_opens_a_new_one() -> None:
    collector: AlbumCollector[str] = AlbumCollector(quiet=60)
    refused = collector.join("g", "first")
    assert refused is not None
    collector.discard("g", refused)  # the turn was refused before it gathered the album
    assert len(collector) == 0
    again = collector.join("g", "second")
    assert again is not None
    assert again is not refused
    assert len(collector) == 1


async def test_discarding_an_album_already_replaced_leaves_the_new_one_open() -> None:
    collector: AlbumCollector[str] = AlbumCollector(quiet=0.01)
    first = collector.join("g", "early")
    assert first is not None
    assert await collector.collect("g", first) == ["early"]
    second = collector.join("g", "late")
    assert second is not None
    collector.discard("g", first)
    assert collector.join("g", "later") is None  # joined the open one
    assert len(collector) == 1


async def test_an_album_open_longer_than_the_age_limit_takes_no_more_items() -> None:
    clock = FakeClock(0.0)
    collector: AlbumCollector[str] = AlbumCollector(quiet=60, max_age=60, clock=clock)
    abandoned = collector.join("old", "item")
    assert abandoned is not None
    clock.now = 59.0
    assert collector.join("old", "joins") is None
    clock.now = 60.0
    collector.join("other", "item")  # any arrival forgets what is too old
    assert len(collector) == 1
    assert collector.join("old", "late") is not None  # a new album, not the abandoned one


async def test_past_the_cap_of_open_albums_the_oldest_is_forgotten() -> None:
    clock = FakeClock(0.0, tick=1.0)
    collector: AlbumCollector[int] = AlbumCollector(quiet=60, max_open=3, clock=clock)
    for key in range(10):
        assert collector.join(key, key) is not None
    assert len(collector) == 3
    assert collector.join(9, 99) is None  # the newest are kept
    assert collector.join(0, 0) is not None  # the oldest were forgotten


async def test_an_item_past_the_album_limit_opens_a_new_album() -> None:
    collector: AlbumCollector[int] = AlbumCollector(quiet=60)
    full = collector.join("g", 0)
    assert full is not None
    for item in range(1, ALBUM_LIMIT):
        assert collector.join("g", item) is None
    extra = collector.join("g", ALBUM_LIMIT)
    assert extra is not None
    assert extra is not full
    assert await asyncio.wait_for(collector.collect("g", full), timeout=5) == list(
        range(ALBUM_LIMIT)
    )
