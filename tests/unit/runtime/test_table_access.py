"""The customers agent's table reads and writes straight from the store (``faust_patches.stored_value``
and ``store_puts``) give and leave what Faust's own table access does, with either store.

Real Faust tables (RocksDB in a temporary directory, or memory), not started: a store opens a
partition's database when it is first used, and no changelog is sent here.
"""

from __future__ import annotations

import pytest
from faust.stores import rocksdb

from streams.devtools.table_access import faust_gets, faust_puts, record
from streams.runtime.faust_patches import store_puts, stored_value
from streams.runtime.settings import Settings
from streams.runtime.topology import Topology, build_topology


@pytest.fixture(params=["memory", "rocksdb"])
def topology(request, tmp_path) -> Topology:
    return build_topology(Settings(broker="127.0.0.1:1", app_id="table-access", store=request.param, data_dir=tmp_path))


def test_a_state_read_from_the_store_is_what_the_table_gives(topology):
    faust_puts(topology, [(record(b"c1", 0), b"state of c1"), (record(b"c2", 3), b"state of c2")])
    probes = [record(b"c1", 0), record(b"c2", 3), record(b"c3", 0), record(b"c2", 0)]  # the last: another partition

    assert [stored_value(topology.app, topology.activity, probe) for probe in probes] == faust_gets(topology, probes)
    assert stored_value(topology.app, topology.activity, probes[0]) == b"state of c1"


def test_states_put_into_the_store_are_read_as_the_tables_own_writes_are(topology):
    written = {record(b"c1", 0): b"one", record(b"c2", 3): b"two", record(b"c3", 0): b"three"}
    faust_puts(topology, [(record(b"c1", 0), b"before")])

    store_puts(topology.app, topology.activity, list(written.items()))

    assert faust_gets(topology, written) == [b"one", b"two", b"three"]
    if isinstance(topology.activity.data, rocksdb.Store):  # each key noted on its partition, as Faust's put notes it
        assert dict(topology.activity.data._key_index) == {b"c1": 0, b"c2": 3, b"c3": 0}


def test_a_mapping_that_is_no_faust_table_is_read_the_public_way():
    assert stored_value(None, {b"c1": b"state"}, record(b"c1", 0)) == b"state"  # type: ignore[arg-type]
    assert stored_value(None, {}, record(b"c1", 0)) is None  # type: ignore[arg-type]
