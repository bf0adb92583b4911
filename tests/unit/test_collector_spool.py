"""The on-disk spool: order, bound, durability across reopen."""

from __future__ import annotations

from pathlib import Path

from collector.spool import Spool


def test_batches_come_back_oldest_first_and_survive_reopen(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_bytes=1000)
    for i in range(3):
        assert spool.append(f"batch {i}".encode())
    again = Spool(tmp_path / "spool", max_bytes=1000)  # a restarted collector
    assert len(again) == 3 and again.bytes == 21
    seen = []
    while (item := again.oldest()) is not None:
        seen.append(item[1].decode())
        again.remove(item[0])
    assert seen == ["batch 0", "batch 1", "batch 2"]
    assert again.bytes == 0 and len(again) == 0
    assert again.append(b"next")
    assert Spool(tmp_path / "spool").oldest()[1] == b"next"  # type: ignore[index]


def test_full_spool_refuses_and_writes_nothing(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10)
    assert spool.append(b"123456")
    assert not spool.append(b"12345")  # would make 11 bytes
    assert len(spool) == 1 and spool.bytes == 6
    assert spool.append(b"1234")  # exactly 10 fits


def test_leftover_temp_file_from_a_crash_is_discarded(tmp_path: Path) -> None:
    (tmp_path / "0000000000000007.tmp").write_bytes(b"half written")
    spool = Spool(tmp_path)
    assert len(spool) == 0 and not list(tmp_path.glob("*.tmp"))
