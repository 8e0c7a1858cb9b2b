"""The sweep that finds who was present together agrees with the plain definition on any
arrivals: the largest set present at one moment, its first stretch, ties to the earlier."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from shouhu.onestop.joint_sessions import Together, fully_attended, present_together
from shouhu.onestop.session_models import Agency

START = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


@dataclass(frozen=True)
class _Arrival:
    agency: str
    arrived_at: datetime
    departed_at: datetime | None


def _by_definition(arrivals: list[_Arrival]) -> Together | None:
    """The definition, checked at every moment against every arrival (quadratic)."""
    moments = sorted(
        {a.arrived_at for a in arrivals} | {a.departed_at for a in arrivals if a.departed_at}
    )
    best: Together | None = None
    for index, moment in enumerate(moments):
        present = frozenset(
            Agency(a.agency)
            for a in arrivals
            if a.arrived_at <= moment and (a.departed_at is None or a.departed_at > moment)
        )
        if not present or (best is not None and len(present) <= len(best.agencies)):
            continue
        end = moments[index + 1] if index + 1 < len(moments) else None
        best = Together(agencies=present, start=moment, end=end)
    return best


@st.composite
def _arrivals(draw: st.DrawFn) -> list[_Arrival]:
    made = []
    for _ in range(draw(st.integers(min_value=0, max_value=10))):
        agency = draw(st.sampled_from(list(Agency)))
        came = draw(st.integers(min_value=0, max_value=12))  # on a 10-minute grid: ties happen
        stay = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=8)))
        arrived = START + timedelta(minutes=10 * came)
        departed = None if stay is None else arrived + timedelta(minutes=10 * stay)
        made.append(_Arrival(agency.value, arrived, departed))
    return made


@given(_arrivals())
def test_the_sweep_finds_what_the_definition_finds(arrivals: list[_Arrival]) -> None:
    assert present_together(arrivals) == _by_definition(arrivals)


def test_a_departure_at_a_moment_counts_before_an_arrival_at_it() -> None:
    left = _Arrival("forensics", START, START + timedelta(minutes=30))
    came = _Arrival("procuratorate", START + timedelta(minutes=30), None)
    together = present_together([left, came])
    assert together == Together(frozenset({Agency.FORENSICS}), START, START + timedelta(minutes=30))
    assert not fully_attended([Agency.FORENSICS, Agency.PROCURATORATE], [left, came])
    stayed = _Arrival("forensics", START, START + timedelta(minutes=31))
    assert fully_attended([Agency.FORENSICS, Agency.PROCURATORATE], [stayed, came])


def test_nobody_came_is_not_attended() -> None:
    assert present_together([]) is None
    assert not fully_attended([Agency.FORENSICS], [])
