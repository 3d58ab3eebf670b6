"""Albums: items of one media group, arriving as separate updates, gathered into one."""

from __future__ import annotations

import asyncio

from bot.media.albums import ALBUM_LIMIT, AlbumCollector


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
