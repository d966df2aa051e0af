"""System.reference_transitions: where the reference phase changes along a line, against closed forms."""

import math

import pytest

from phasemapper.systems import ONSAGER_TC, TASEP, BlumeCapel2D, Hopfield, Ising2D
from phasemapper.systems._hopfield import (
    ags_retrieval_overlap,
    ags_retrieval_temperature,
)


def values(cps):
    return [cp.value for cp in cps]


def test_ising_onsager_at_zero_field_only():
    # Onsager, Phys. Rev. 65, 117 (1944): Tc = 2 / ln(1 + sqrt 2); in a field there is no transition
    (cp,) = Ising2D().reference_transitions("T")
    assert cp.value == ONSAGER_TC and "Onsager" in cp.method
    assert Ising2D().reference_transitions("T", at={"h": 0.1}) == []
    assert Ising2D().reference_transitions("h", at={"T": 2.0}) == []


@pytest.mark.parametrize("axis, at, expected", [
    # Derrida, Evans, Hakim & Pasquier 1993: LD-HD line alpha = beta < 1/2, maximal current at alpha, beta > 1/2
    ("alpha", {"beta": 0.3}, [0.3]),
    ("beta", {"alpha": 0.2}, [0.2]),
    ("alpha", {"beta": 0.75}, [0.5]),
    ("beta", {"alpha": 0.75}, [0.5]),
])
def test_tasep_exact_lines(axis, at, expected):
    got = TASEP().reference_transitions(axis, at=at)
    assert values(got) == pytest.approx(expected, abs=1e-8)
    assert all(cp.at == at for cp in got)


def test_blume_capel_literature_points_and_interpolation():
    (cp,) = BlumeCapel2D().reference_transitions("T", at={"D": 1.0})
    assert cp.value == 1.398 and "literature" in cp.method  # Malakis et al., PRE 81, 041113 (2010)
    (mid,) = BlumeCapel2D().reference_transitions("T", at={"D": 0.75})
    assert 1.398 < mid.value < 1.693
    phases = BlumeCapel2D().reference_phase({"T": [mid.value - 1e-6, mid.value + 1e-6], "D": [0.75, 0.75]})
    assert list(phases) == ["ferro", "para"]
    # within narrower bounds that hold no transition, none is reported
    assert BlumeCapel2D().reference_transitions("T", at={"D": 1.0}, bounds=(1.5, 2.0)) == []


def test_hopfield_ags_lines_along_T_and_alpha():
    # Amit, Gutfreund & Sompolinsky 1987: spin glass below T_g = 1 + sqrt(alpha); retrieval below T_M(alpha)
    tm, tg = Hopfield().reference_transitions("T", at={"alpha": 0.05})
    assert tg.value == pytest.approx(1 + math.sqrt(0.05), abs=1e-8)
    assert tm.value == pytest.approx(ags_retrieval_temperature(0.05), abs=1e-8)
    (para_sg,) = Hopfield().reference_transitions("alpha", at={"T": 1.2})
    assert para_sg.value == pytest.approx(0.2**2, abs=1e-12)  # alpha_g = (T - 1)^2
    (retrieval,) = Hopfield().reference_transitions("alpha", at={"T": 0.3})
    assert ags_retrieval_overlap(retrieval.value - 1e-6, 0.3) > 0 == ags_retrieval_overlap(retrieval.value + 1e-6, 0.3)
    # the same line as reference_phase draws it (which rounds alpha to 1e-4)
    phases = Hopfield().reference_phase({"alpha": [retrieval.value - 2e-4, retrieval.value + 2e-4], "T": [0.3, 0.3]})
    assert list(phases) == ["retrieval", "spin_glass"]


@pytest.mark.parametrize("kwargs, words", [
    ({"axis": "beta"}, "axis: unknown axis 'beta'"),
    ({"axis": "T", "at": {"T": 1.0}}, "at: 'T' is not another axis"),
    ({"axis": "T"}, "at: give a value for ['D']"),
    ({"axis": "T", "at": {"D": float("nan")}}, "at['D']"),
    ({"axis": "T", "at": {"D": 1.0}, "bounds": (2.0, 1.0)}, "bounds"),
])
def test_bad_input_names_the_field(kwargs, words):
    with pytest.raises(ValueError) as info:
        BlumeCapel2D().reference_transitions(**kwargs)
    assert words in str(info.value)
