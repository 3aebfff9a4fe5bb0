"""The broker's SQLite files keep a small page cache per connection.

Connections are per thread and per file; with SQLite's default cache (2 MiB each) the
broker's memory climbed by ~36 MiB over a soak as the files grew.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from broker.sqlite_file import CACHE_KIB, SqliteFile


def test_every_thread_connection_has_the_small_page_cache(tmp_path: Path) -> None:
    file = SqliteFile(
        tmp_path / "store.db",
        what="test store",
        schema=("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)",),
        meta_table="meta",
        schema_version="1",
        synchronous="NORMAL",
        logger=logging.getLogger(__name__),
    )
    sizes: list[int] = []

    def read_cache_size() -> None:
        sizes.append(file.connection().execute("PRAGMA cache_size").fetchone()[0])

    read_cache_size()
    other = threading.Thread(target=read_cache_size)
    other.start()
    other.join()
    file.close()
    assert sizes == [-CACHE_KIB, -CACHE_KIB]
    assert CACHE_KIB < 2000  # below SQLite's default, or the test says nothing
