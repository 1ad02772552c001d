"""The claims ledger: verdicts, validation, JSON conversion."""

import math

import numpy as np
import pytest

from ltijepa import claims
from ltijepa.errors import ClaimError, TheoremFailed

SOURCE = "Fazel et al. 2018, Lemma 1"


def test_theorem_that_holds_is_recorded_with_its_values(capsys):
    claim = claims.theorem("fazel2018.test.holds", np.bool_(True), statement="1 <= 2", source=SOURCE, lhs=1, rhs=np.float64(2))
    assert claim.status == "holds" and claim.kind == "theorem"
    assert claim.values == {"lhs": 1, "rhs": 2.0}
    assert "[holds] fazel2018.test.holds" in capsys.readouterr().out  # printed outside IPython


def test_theorem_that_fails_raises_with_the_values_in_the_message():
    with pytest.raises(TheoremFailed, match=r"fazel2018\.test\.fails.*ratio=1\.5"):
        claims.theorem("fazel2018.test.fails", False, statement="ratio <= 1", source=SOURCE, ratio=1.5)


@pytest.mark.parametrize("holds", [np.array([True, True]), 1, None, "yes"])
def test_theorem_rejects_anything_but_a_single_bool(holds):
    with pytest.raises(ClaimError, match="must be a single bool"):
        claims.theorem("fazel2018.test.type", holds, source=SOURCE)


@pytest.mark.parametrize(
    "claim_id, match",
    [("nopaper.x", "paper key 'nopaper' unknown"), ("fazel2018", "must look like"), ("fazel2018.a b", "must look like")],
)
def test_claim_ids_must_start_with_a_known_paper_key(claim_id, match):
    with pytest.raises(ClaimError, match=match):
        claims.theorem(claim_id, True, source=SOURCE)


def test_reproduction_within_tolerance_is_reproduced_and_outside_deviates():
    close = claims.reproduce("stamouli2025.test.close", paper=2.3e6, ours=2.2e6, rtol=0.1, source="Stamouli et al. 2025, Fig. 1")
    far = claims.reproduce("stamouli2025.test.far", paper=2.3e6, ours=1.0e3, rtol=0.1, source="Stamouli et al. 2025, Fig. 1")
    assert (close.status, far.status) == ("reproduced", "deviates")
    assert close.tolerance == "rtol=0.1"


def test_reproduction_uses_atol_plus_rtol_times_paper():
    assert claims.reproduce("yu2025.t.a", paper=0.0, ours=0.05, atol=0.05, source="Yu et al. 2025, test").status == "reproduced"
    assert claims.reproduce("yu2025.t.b", paper=10.0, ours=11.5, atol=0.5, rtol=0.1, source="Yu et al. 2025, test").status == "reproduced"
    assert claims.reproduce("yu2025.t.c", paper=10.0, ours=11.6, atol=0.5, rtol=0.1, source="Yu et al. 2025, test").status == "deviates"


def test_reproduction_of_nan_deviates():
    assert claims.reproduce("yu2025.t.nan", paper=1.0, ours=math.nan, rtol=1.0, source="Yu et al. 2025, test").status == "deviates"


def test_qualitative_reproduction_takes_a_computed_verdict():
    claim = claims.reproduce("yu2025.t.words", paper="nine clusters", ours="9 clusters", matches=True, source="Yu et al. 2025, Fig. 2")
    assert claim.status == "reproduced" and claim.paper == "nine clusters"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"paper": 1.0, "ours": 1.0}, "give rtol and/or atol"),
        ({"paper": 1.0, "ours": 1.0, "rtol": 0.1, "matches": True}, "not both"),
        ({"paper": 1.0, "ours": 1.0, "rtol": -0.1}, r"rtol == -0\.1, must be a real number >= 0"),
        ({"paper": 1.0, "ours": 1.0, "rtol": True}, r"rtol == True, must be a real number >= 0"),
        ({"paper": 1.0, "ours": 2.0, "atol": np.bool_(True)}, r"atol == (np\.)?True_?\)?, must be a real number >= 0"),
        ({"paper": "nine", "ours": 9, "rtol": 0.1}, "must both be real numbers"),
        ({"paper": "nine", "ours": 9, "matches": "yes"}, "must be a bool"),
    ],
)
def test_reproduction_rejects_ill_posed_comparisons(kwargs, match):
    with pytest.raises(ClaimError, match=match):
        claims.reproduce("yu2025.t.bad", source="Yu et al. 2025, test", **kwargs)


def test_to_jsonable_converts_numpy_and_non_finite_values():
    assert claims.to_jsonable(np.float32(1.5)) == 1.5
    assert claims.to_jsonable(np.int64(3)) == 3
    assert claims.to_jsonable(math.inf) == "inf"
    assert claims.to_jsonable(np.array([1, 2])) == [1, 2]
    assert claims.to_jsonable(np.arange(100.0)) == {"shape": [100], "min": 0.0, "max": 99.0}
    assert claims.to_jsonable({"a": (np.bool_(True), None)}) == {"a": [True, None]}


@pytest.mark.parametrize("value", [object(), 1 + 2j, {1, 2}, [1, object()], {"x": (2.0, 3j)}],
                         ids=["object", "complex", "set", "nested-object", "nested-complex"])
def test_a_claim_value_that_is_not_data_is_rejected_naming_claim_and_field(value):
    with pytest.raises(ClaimError, match=r"claim 'fazel2018\.x', spread: a claim value of type \w+"):
        claims.theorem("fazel2018.x", True, source="Fazel et al. 2018, Lemma 1", spread=value)
    with pytest.raises(ClaimError, match=r"claim 'fazel2018\.y', ours: a claim value"):
        claims.reproduce("fazel2018.y", paper="words", ours=value, matches=True, source="Fazel et al. 2018, Lemma 1")


def test_array_likes_such_as_tensors_are_converted_like_arrays():
    torch = pytest.importorskip("torch")
    assert claims.to_jsonable(torch.tensor(1.5)) == 1.5
    assert claims.to_jsonable(torch.arange(3)) == [0, 1, 2]



@pytest.mark.parametrize(
    "source, match",
    [("000, slide 'Observation'", "internal file number"), ("Thm. 1", "names no year"), ("", "names no year")],
)
def test_claim_sources_must_read_as_citations(source, match):
    with pytest.raises(ClaimError, match=match) as info:
        claims.theorem("fazel2018.test.source", True, source=source)
    assert info.value.claim_id == "fazel2018.test.source"


def test_a_deviation_carries_its_reason_section_and_unit():
    claim = claims.reproduce("yu2025.test.why", paper=2.0, ours=3.0, rtol=0.1, unit="s", source="Yu et al. 2025, Fig. 2",
                             reason="a sweep over the unstated step size", section="fedlqr-deviations")
    assert claim.status == "deviates"
    assert (claim.unit, claim.reason, claim.section) == ("s", "a sweep over the unstated step size", "fedlqr-deviations")
    assert "paper 2 s | ours 3 s (rtol=0.1)" in claim.summary()


@pytest.mark.parametrize(
    "fields, match",
    [
        ({"reason": "a sweep"}, "give both"),
        ({"section": "fedlqr-deviations"}, "give both"),
        ({"reason": "two\nlines", "section": "x"}, "reason == 'two\\\\nlines', must be one non-empty line"),
        ({"reason": "a sweep", "section": "Not A Label"}, "section == 'Not A Label', must be a MyST label"),
        ({"unit": ""}, "unit == '', must be one non-empty line"),
    ],
)
def test_reason_section_and_unit_are_checked(fields, match):
    with pytest.raises(ClaimError, match=match):
        claims.reproduce("yu2025.test.bad", paper=1.0, ours=1.0, rtol=0.1, source="Yu et al. 2025, Fig. 2", **fields)


def test_the_badge_typesets_the_statement_math_and_says_why_a_claim_deviates():
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()
    try:
        with capture_output() as captured:
            claims.reproduce("yu2025.test.badge", paper=1.0, ours=2.0, rtol=0.1, source="Yu et al. 2025, Fig. 2",
                             statement="gap $x_* < 1$ <b>", reason="measured <here>", section="fedlqr-deviations")
    finally:
        InteractiveShell.clear_instance()
    badge = captured.outputs[0].data["text/html"]
    assert '<span class="math notranslate nohighlight">\\(x_* &lt; 1\\)</span> &lt;b&gt;' in badge
    assert "<em>Why it deviates:</em> measured &lt;here&gt;" in badge
    assert captured.outputs[0].metadata[claims.METADATA_KEY]["reason"] == "measured <here>"
