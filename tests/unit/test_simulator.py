from datetime import timedelta
from itertools import pairwise

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from naia.domain.errors import UnknownPointError
from naia.domain.schema import seq_numbers
from naia.domain.timeparse import to_us
from naia.sources.simulator import PointOptions, SimulatorSettings, SimulatorSource
from naia.sources.simulator.catalogue import find_point
from naia.sources.simulator.generate import generate
from naia.sources.simulator.settings import REALISTIC
from naia.sources.simulator.source import effective_definition
from tests.conftest import DAY_END, DAY_START, SEED_POINTS
from tests.contract.source_contract import read_table


def test_seed_test1_gives_4320_values() -> None:
    table = read_table(SimulatorSource(), SEED_POINTS, DAY_START, DAY_END)
    assert table.num_rows == 4320
    assert pc.min(table["ts"]).as_py() == DAY_START
    assert pc.max(table["ts"]).as_py() == DAY_END - timedelta(minutes=1)  # half-open


@pytest.mark.parametrize("options", [PointOptions(), REALISTIC])
def test_any_sub_range_equals_the_slice_of_a_larger_range(options: PointOptions) -> None:
    source = SimulatorSource(SimulatorSettings(defaults=options, batch_rows=500))
    points = ("SINUSOID", "CDM158", "BA:PHASE.1", "SIM.7")
    whole = read_table(source, points, DAY_START, DAY_END)
    cut = DAY_START + timedelta(hours=7, minutes=13, seconds=17, microseconds=5)
    parts = pa.concat_tables(
        [read_table(source, points, DAY_START, cut), read_table(source, points, cut, DAY_END)]
    ).sort_by([("source_address", "ascending"), ("ts", "ascending"), ("seq", "ascending")])
    assert parts.equals(whole)


def test_realistic_data_has_every_feature() -> None:
    source = SimulatorSource(SimulatorSettings(defaults=REALISTIC))
    table = read_table(source, ("SINUSOID", "CDM158"), DAY_START, DAY_START + timedelta(days=7))
    assert pc.max(table["seq"]).as_py() >= 1  # same-timestamp events
    bad = table.filter(pc.invert(table["good"]))
    assert bad.num_rows > 0 and bad["value"].null_count == bad.num_rows
    assert set(bad["state"].to_pylist()) <= {
        "I/O Timeout", "No Data", "Pt Created", "Shutdown", "Bad Input"
    }  # fmt: skip
    digital = table.filter(pc.equal(table["source_address"], "CDM158"))
    states = set(digital["state"].to_pylist())
    assert {"Manual", "Auto"} <= states
    micros = pc.cast(table["ts"], pa.int64()).to_numpy() % 1_000_000
    assert (micros == 0).any() and (micros != 0).any()  # whole and fractional seconds


def test_irregular_timestamps_are_not_on_a_grid() -> None:
    options = PointOptions(irregular=True)
    source = SimulatorSource(SimulatorSettings(points={"SINUSOID": options}))
    table = read_table(source, ("SINUSOID", "CDT158"), DAY_START, DAY_END)
    sin = table.filter(pc.equal(table["source_address"], "SINUSOID"))
    cdt = table.filter(pc.equal(table["source_address"], "CDT158"))
    assert (pc.cast(sin["ts"], pa.int64()).to_numpy() % 60_000_000 != 0).any()
    assert (pc.cast(cdt["ts"], pa.int64()).to_numpy() % 60_000_000 == 0).all()


def test_values_are_float32_exact_and_in_range() -> None:
    table = read_table(SimulatorSource(), ("SINUSOID", "CDT158"), DAY_START, DAY_END)
    values = table["value"].to_numpy()
    assert (values.astype("float32").astype("float64") == values).all()
    assert values.min() >= 0 and values.max() <= 250


def test_unknown_point_names_the_point() -> None:
    with pytest.raises(UnknownPointError, match="NOPE"):
        list(SimulatorSource().read(["SINUSOID", "NOPE"], DAY_START, DAY_END))


def test_points_are_case_insensitive_and_keep_the_requested_name() -> None:
    table = read_table(SimulatorSource(), ("sinusoid",), DAY_START, DAY_END)
    assert set(table["source_address"].to_pylist()) == {"sinusoid"}


def test_batches_are_bounded() -> None:
    source = SimulatorSource(SimulatorSettings(batch_rows=1000))
    batches = list(source.read(("SINUSOID",), DAY_START, DAY_START + timedelta(days=3)))
    assert sum(b.num_rows for b in batches) == 3 * 1440
    assert max(b.num_rows for b in batches) <= 2000


def test_any_point_can_be_made_digital_by_option() -> None:
    options = PointOptions(digital_states=("Open", "Closed"))
    source = SimulatorSource(SimulatorSettings(points={"SIM.5": options}))
    table = read_table(source, ("SIM.5", "SIM.6"), DAY_START, DAY_END)
    five = table.filter(pc.equal(table["source_address"], "SIM.5"))
    six = table.filter(pc.equal(table["source_address"], "SIM.6"))
    assert set(five["state"].to_pylist()) == {"Open", "Closed"}
    assert five["value"].null_count == five.num_rows
    assert six["state"].null_count == six.num_rows


def test_successive_batches_cover_successive_disjoint_time_ranges() -> None:
    """One batch a time block holding every point: a store appends them in order."""
    points = tuple(f"SIM.{i}" for i in range(7))
    source = SimulatorSource(SimulatorSettings(batch_rows=1000))
    batches = list(source.read(points, DAY_START, DAY_START + timedelta(days=2)))
    assert len(batches) > 3 and sum(b.num_rows for b in batches) == 7 * 2 * 1440
    for before, after in pairwise(batches):
        assert pc.max(before.column("ts")).as_py() < pc.min(after.column("ts")).as_py()
    assert all(set(b.column("source_address").to_pylist()) == set(points) for b in batches)
    for batch in batches:  # in time order inside a block too: nothing downstream sorts it
        ts = batch.column("ts").cast(pa.int64()).to_numpy()
        assert bool((ts[1:] >= ts[:-1]).all())


def test_a_block_batch_equals_the_points_read_one_by_one() -> None:
    """Building a block's batch from all points at once changes nothing in the data."""
    points = ("SINUSOID", "BA:PHASE.1", "CDM158", "SIM.9")
    settings = SimulatorSettings(defaults=REALISTIC, batch_rows=900)
    source = SimulatorSource(settings)
    end = DAY_START + timedelta(hours=7)
    together = pa.Table.from_batches(list(source.read(points, DAY_START, end)))
    for point in points:
        alone = pa.Table.from_batches(list(source.read((point,), DAY_START, end)))
        mine = together.filter(pc.equal(together.column("source_address").cast(pa.string()), point))
        for name in ("ts", "seq", "value", "state", "good"):
            assert mine.column(name).to_pylist() == alone.column(name).to_pylist(), (point, name)
    assert together.column("state").null_count < together.num_rows  # digital points' states


MIXED_OPTIONS = {
    "SIM.3": PointOptions(interval_seconds=7.5),
    "CDT158": PointOptions(interval_seconds=13, irregular=True, gap_rate=0.2),
    "SIM.11": PointOptions(digital_states=("Off", "On", "Fault")),
    "BA:TEMP.1": PointOptions(same_timestamp_rate=0.3, system_state_rate=0.2),
}
MIXED_READ = ("SINUSOID", "SIM.3", "BA:PHASE.1", "CDT158", "SIM.11", "SIM.4", "BA:TEMP.1", "SIM.5")


@pytest.mark.parametrize("rows", [700, 5], ids=["blocks", "one-slot-blocks"])
@pytest.mark.parametrize("defaults", [PointOptions(), REALISTIC], ids=["plain", "realistic"])
def test_a_block_holds_exactly_what_generate_gives_each_point(
    defaults: PointOptions, rows: int
) -> None:
    """Points generated together (grouped by options and wave) equal ``generate`` point by
    point, bit for bit: timestamps, seq, values, states and quality, across block edges."""
    settings = SimulatorSettings(defaults=defaults, points=MIXED_OPTIONS, batch_rows=rows)
    table = pa.Table.from_batches(
        list(SimulatorSource(settings).read(MIXED_READ, DAY_START, DAY_START + timedelta(hours=5)))
    )
    start_us, end_us = to_us(DAY_START), to_us(DAY_START + timedelta(hours=5))
    for point in MIXED_READ:
        definition = effective_definition(settings, find_point(point))  # type: ignore[arg-type]
        ev = generate(definition, settings.options_for(point), start_us, end_us)
        mine = table.filter(pc.equal(table.column("source_address").cast(pa.string()), point))
        assert mine.column("ts").cast(pa.int64()).to_pylist() == ev.ts_us.tolist(), point
        assert mine.column("seq").to_pylist() == seq_numbers(ev.ts_us).tolist(), point
        values = mine.column("value").to_numpy(zero_copy_only=False)
        assert np.array_equal(values, ev.value, equal_nan=True), point
        names = [None if i < 0 else ev.state_names[i] for i in ev.state_index]
        assert mine.column("state").to_pylist() == names, point
        assert mine.column("good").to_pylist() == ev.good.tolist(), point
