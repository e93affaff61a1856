"""The check API, the store format and the comparison rule, without running notebooks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnncourse.checks import RECORD_ENV, Checker
from rnncourse.compare import compare, raise_outcome, raise_record, same_failure, tolerance_for
from rnncourse.store import (
    MAX_RECORDS,
    MAX_RECORDS_FILE_BYTES,
    MAX_VALUE_BYTES,
    MistakeValues,
    Record,
    StoreError,
    as_array,
    read_records,
    read_reference,
    read_store,
    validate_key,
    write_reference,
    write_store,
)
from rnncourse.verdicts import judge

VALUES = np.array([[1.0, -2.0], [0.0, 3.0]])


@pytest.fixture
def store(tmp_path):
    """A small reference store with one check of each kind, the signature of the graded
    function ``f(x, y)`` and one catalogued mistake ("sign flipped")."""
    folder = tmp_path / "store"
    flipped = MistakeValues(
        "f_sign_flipped",
        "f",
        "sign flipped",
        "Keep the sign of y.",
        {"test_f/values": Record("test_f/values", "close", -VALUES)},
    )
    silent = MistakeValues(
        "f_no_validation",
        "f",
        "no validation",
        "Check x first.",
        {"test_f_errors/bad": Record("test_f_errors/bad", "raises", raise_record("x", None))},
    )
    write_reference(folder, [
        Record("test_f/values", "close", VALUES),
        Record("test_f/float32", "close", np.array([1.0, 2.0], dtype=np.float32)),
        Record("test_f/big", "close", np.arange(100.0).reshape(10, 10)),
        Record("test_f_errors/bad", "raises", raise_record("x", ValueError("x must be > 0"))),
    ], {"f": ["x", "y"]}, [flipped, silent])  # fmt: skip
    return folder


# ---------------------------------------------------------------- comparison rule


def test_float64_tolerance_is_1e_8_relative_to_the_array_scale():
    expected = np.array([100.0, 0.0, -50.0])  # scale 100: errors up to 1e-6 pass
    assert compare("close", expected, expected + np.array([0, 0.99e-6, 0])).ok
    assert not compare("close", expected, expected + np.array([0, 1.01e-6, 0])).ok
    assert compare("close", np.zeros(3), np.full(3, 0.99e-8)).ok  # an all-zero reference
    assert not compare("close", np.zeros(3), np.full(3, 1.01e-8)).ok


def test_float32_results_and_references_get_1e_5():
    reference32 = np.array([1.0, 2.0], dtype=np.float32)
    assert tolerance_for(reference32) == 1e-5
    assert compare("close", reference32, np.array([1.0, 2.0 + 1.9e-5])).ok
    assert not compare("close", reference32, np.array([1.0, 2.0 + 2.1e-5])).ok
    reference64 = np.array([1.0, 2.0])
    result32 = (reference64 + np.array([0.0, 1.9e-5])).astype(np.float32)
    assert compare("close", reference64, result32).ok
    assert not compare("close", reference64, reference64 + np.array([0.0, 1.9e-5])).ok


def test_shape_dtype_and_nan_are_reported_without_revealing_values():
    expected = np.array([[0.25, 0.75]])
    verdict = compare("close", expected, np.array([0.25, 0.75]))
    assert not verdict.ok and "shape (2,)" in verdict.reason and "(1, 2)" in verdict.reason
    verdict = compare("close", expected, np.array([[np.nan, 0.75]]))
    assert not verdict.ok and "nan" in verdict.reason
    verdict = compare("close", expected, np.array([[1, 0]]))
    assert not verdict.ok and "floating-point" in verdict.reason
    verdict = compare("close", expected, np.array([[0.3, 0.7]]))
    assert not verdict.ok and "0.25" not in verdict.reason and "0.75" not in verdict.reason


def test_equal_compares_strings_exactly():
    expected = np.asarray("ValueError naming 'W_hh'")
    assert compare("equal", expected, np.asarray("ValueError naming 'W_hh'")).ok
    verdict = compare("equal", expected, np.asarray("returned without raising"))
    assert not verdict.ok and "returned without raising" in verdict.reason


def test_strings_where_numbers_are_expected_fail_with_a_short_reason():
    verdict = compare("close", np.zeros(2), np.array(["a", "b"]))
    assert not verdict.ok and "expected numbers" in verdict.reason
    verdict = compare("equal", np.asarray("ValueError naming 'x'"), np.asarray("x" * 1000))
    assert not verdict.ok and len(verdict.reason) < 250


def test_as_array_turns_odd_results_into_descriptions():
    assert as_array([1.0, 2.0]).dtype == np.float64
    assert as_array(None).dtype.kind == "U"  # an object array would need pickle
    assert as_array([[1, 2], [3]]).dtype.kind == "U"  # ragged
    assert not compare("close", np.zeros(2), as_array(None)).ok


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (None, "returned without raising"),
        (ValueError("W_hh must have shape (4, 4)"), "ok"),
        (ValueError("weights have the wrong shape"), "does not name 'W_hh'"),
        (ValueError("W_hh_extra is wrong"), "does not name 'W_hh'"),
        (ValueError("X, H, W_xh, W_hh or b_h is wrong"), "names 'X' before 'W_hh'"),
        (ValueError("expected W_hh to match H: got (3, 3)"), "ok"),  # H only after W_hh
        (TypeError("W_hh"), "raised TypeError instead of ValueError"),
        (np.exceptions.AxisError(2, 2), "ok"),  # numpy's message names 'axis'
    ],
)
def test_raise_outcome_needs_the_argument_named_before_any_other(error, outcome):
    argument = "axis" if isinstance(error, np.exceptions.AxisError) else "W_hh"
    parameters = ["O", "axis"] if argument == "axis" else ["X", "H", "W_xh", "W_hh", "b_h"]
    got = raise_outcome(argument, raise_record(argument, error), parameters)
    assert got == outcome if outcome == "ok" else outcome in got


def test_a_fault_between_two_arguments_may_name_either_first():
    parameters = ["predict_fn", "history", "tau", "steps"]
    for message in ["history has 2 values, fewer than tau = 3", "tau = 3 > len(history)"]:
        record = raise_record("history|tau", ValueError(message))
        assert raise_outcome("history|tau", record, parameters) == "ok"
    late = raise_record("history|tau", ValueError("steps=4 cannot run: history is short"))
    assert "names 'steps' before 'history' or 'tau'" in raise_outcome("history|tau", late,
                                                                      parameters)  # fmt: skip


def test_student_mode_accepts_a_tuple_of_arguments(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(RECORD_ENV, raising=False)
    store = tmp_path / "store"
    write_reference(store, [Record("test_g_errors/short", "raises",
                                   raise_record("h|tau", ValueError("h is short")))],
                    {"g": ["h", "tau"]}, [])  # fmt: skip
    check = Checker("any", visible_dir=store)
    with check.raises("test_g_errors/short", argument=("h", "tau")):
        raise ValueError("tau is larger than len(h)")
    assert "ok test_g_errors/short: ValueError naming 'h' or 'tau'" in capsys.readouterr().out
    with pytest.raises(ValueError, match="argument must name"):
        check.raises("test_g_errors/short", argument="not a name")


def test_a_raise_that_is_not_a_value_error_shows_its_type_and_message():
    reference = raise_record("x", ValueError("x must be > 0"))
    verdict = compare("raises", reference, raise_record("x", KeyError("missing 'k'")), ["x"])
    assert not verdict.ok and "KeyError" in verdict.reason
    assert "missing 'k'" in verdict.full
    verdict = compare("raises", reference, np.asarray("ValueError naming 'x'"), ["x"])
    assert not verdict.ok and "not the record of a raises check" in verdict.reason


def test_a_failing_check_shows_expected_against_received_for_small_arrays():
    verdict = compare("close", VALUES, VALUES + np.array([[0.0, 0.0], [0.0, 0.5]]))
    assert not verdict.ok and "3.5" not in verdict.reason  # the safe reason hides values
    assert "received [[1, -2], [0, 3.5]]" in verdict.full
    assert "expected [[1, -2], [0, 3]]" in verdict.full
    big = np.arange(100.0).reshape(10, 10)
    wrong = big.copy()
    wrong[7, 3] += 2.5
    verdict = compare("close", big, wrong)
    assert "at index (7, 3)" in verdict.reason and "float64 (10, 10)" in verdict.full
    assert "received 75.5, expected 73" in verdict.full
    verdict = compare("close", VALUES, np.zeros(3))
    assert "received [0, 0, 0]" in verdict.full


def test_a_wrong_value_that_a_catalogued_mistake_produces_is_named(store):
    reference = read_reference(store)
    result = judge(reference, "test_f/values", -VALUES)
    assert not result.ok and [m.what for m in result.mistakes] == ["sign flipped"]
    assert "likely mistake: sign flipped. Keep the sign of y." in result.message(reveal=False)
    assert judge(reference, "test_f/values", VALUES + 1).mistakes == []  # another error
    assert judge(reference, "test_f/values", VALUES).mistakes == []  # right: never diagnosed
    silent = judge(reference, "test_f_errors/bad", raise_record("x", None))
    assert [m.what for m in silent.mistakes] == ["no validation"]
    other = judge(reference, "test_f_errors/bad", raise_record("x", ValueError("y is bad")))
    assert not other.ok and other.mistakes == []


def test_same_failure_matches_an_overflowing_mistake_entry_by_entry():
    overflowed = np.array([[np.nan, 0.5], [np.inf, 0.25]])
    assert same_failure("close", overflowed, overflowed.copy(), [])
    assert same_failure("close", overflowed, overflowed + np.array([[0, 1e-12], [0, 0]]), [])
    assert not same_failure("close", overflowed, np.array([[np.nan, 0.5], [-np.inf, 0.25]]), [])
    assert not same_failure("close", overflowed, np.array([[np.nan, 0.5], [np.inf, 0.3]]), [])
    assert not same_failure("close", overflowed, np.array([[np.nan, 0.5], [1.0, 0.25]]), [])
    assert not same_failure("close", overflowed, np.zeros(4), [])


def test_same_failure_compares_raises_by_outcome_not_by_message():
    parameters = ["x", "y"]
    a = raise_record("x", ValueError("y and x disagree"))
    b = raise_record("x", ValueError("y does not fit x"))
    assert same_failure("raises", a, b, parameters)
    assert not same_failure("raises", a, raise_record("x", None), parameters)
    assert not same_failure("close", np.zeros(2), np.array(["a", "b"]), parameters)


def test_keys_must_name_a_test_cell():
    assert validate_key("test_rnn_step/example_relu") == "test_rnn_step/example_relu"
    for bad in ["rnn_step/x", "test_rnn_step", "test_a/b/c", "test_a/has space", 3]:
        with pytest.raises(ValueError, match="check key"):
            validate_key(bad)


# ---------------------------------------------------------------- student mode


def test_student_mode_prints_ok_and_raises_on_mismatch(store, monkeypatch, capsys):
    monkeypatch.delenv(RECORD_ENV, raising=False)
    check = Checker("any", visible_dir=store)
    check.close("test_f/values", np.array([[1.0, -2.0], [0.0, 3.0]]))
    assert "ok test_f/values" in capsys.readouterr().out
    with pytest.raises(AssertionError, match=r"test_f/values: values differ") as failed:
        check.close("test_f/values", np.array([[1.0, -2.0], [0.0, 3.1]]))
    assert "received [[1, -2], [0, 3.1]], expected [[1, -2], [0, 3]]" in str(failed.value)
    with pytest.raises(AssertionError, match="shape"):
        check.close("test_f/values", np.zeros(3))
    with pytest.raises(AssertionError, match=r"likely mistake: sign flipped\. Keep the sign"):
        check.close("test_f/values", -VALUES)


def test_student_mode_without_reference_values_warns(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(RECORD_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    Checker("no_such_assignment")
    assert "warning: no reference values found" in capsys.readouterr().out


def test_student_mode_hidden_check_is_only_announced(store, monkeypatch, capsys):
    monkeypatch.delenv(RECORD_ENV, raising=False)
    Checker("any", visible_dir=store).close("test_f_hidden/unknown", np.zeros(2))
    assert "hidden check" in capsys.readouterr().out


def test_student_mode_raises_check(store, monkeypatch):
    monkeypatch.delenv(RECORD_ENV, raising=False)
    check = Checker("any", visible_dir=store)
    with check.raises("test_f_errors/bad", argument="x"):
        raise ValueError("x must be positive")
    with (
        pytest.raises(AssertionError, match=r"returned without raising.*likely mistake: no valid"),
        check.raises("test_f_errors/bad", argument="x"),
    ):
        pass
    with (
        pytest.raises(AssertionError, match="names 'y' before 'x'"),
        check.raises("test_f_errors/bad", argument="x"),
    ):
        raise ValueError("y must match x")
    with (
        pytest.raises(AssertionError, match=r"raised IndexError.*it said IndexError: index 5"),
        check.raises("test_f_errors/bad", argument="x"),
    ):
        raise IndexError("index 5 is out of bounds")
    with pytest.raises(KeyboardInterrupt), check.raises("test_f_errors/bad", argument="x"):
        raise KeyboardInterrupt  # never swallowed


# ---------------------------------------------------------------- recording mode


def test_recording_mode_never_raises_and_records_every_value(tmp_path, monkeypatch):
    records = tmp_path / "records"
    monkeypatch.setenv(RECORD_ENV, str(records))
    check = Checker("any")
    assert check.recording
    check.close("test_f/values", np.array([1.0, 2.0]))
    check.close("test_f/values", np.array([9.0, 9.0]))  # a wrong value: recorded, not raised
    with check.raises("test_f_errors/bad", argument="x"):
        pass
    got = read_records(records)
    assert [r.key for r in got] == ["test_f/values", "test_f/values", "test_f_errors/bad"]
    assert got[1].value.tolist() == [9.0, 9.0]
    assert got[2].kind == "raises" and got[2].value.tolist() == ["x", "none", "", ""]


def test_reference_round_trip_keeps_signatures_and_mistakes(store):
    reference = read_reference(store)
    assert reference.signatures == {"f": ["x", "y"]}
    assert [m.id for m in reference.mistakes] == ["f_sign_flipped", "f_no_validation"]
    assert np.array_equal(reference.mistakes[0].values["test_f/values"].value, -VALUES)
    write_reference(store, list(reference.checks.values()), {}, [])  # rewritten without them
    assert read_reference(store).mistakes == [] and not (store / "mistakes").exists()


def test_store_round_trip_and_duplicate_keys(tmp_path):
    records = [
        Record("test_b/x", "close", np.arange(3.0)),
        Record("test_a/y", "equal", np.asarray("s")),
    ]
    write_store(tmp_path / "s", records)
    loaded = read_store(tmp_path / "s")
    assert list(loaded) == ["test_a/y", "test_b/x"]  # written sorted by key
    assert np.array_equal(loaded["test_b/x"].value, np.arange(3.0))
    write_store(tmp_path / "d", records + records[:1])
    with pytest.raises(StoreError, match="appears twice"):
        read_store(tmp_path / "d")


def test_structured_values_fail_instead_of_crashing_the_grader():
    structured = np.zeros(2, dtype=[("a", "f8"), ("b", "i4")])
    for kind in ("close", "equal"):
        assert not compare(kind, np.zeros(2), structured).ok
        assert not compare(kind, np.asarray("ValueError naming 'x'"), structured).ok


@pytest.mark.parametrize(
    "tamper",
    ["bad_json", "path_escape", "object_array", "huge_value", "missing_value", "linked_values",
     "linked_records", "too_many_records", "huge_records_file", "cell_not_a_number"],
)  # fmt: skip
def test_hostile_records_are_rejected_not_trusted(tmp_path, tamper):
    folder = tmp_path / "records"
    write_store(folder, [Record("test_f/values", "close", np.zeros(2))])
    lines = folder / "records.jsonl"
    if tamper == "bad_json":
        lines.write_text("{not json\n")
    elif tamper == "path_escape":
        lines.write_text(json.dumps({"key": "test_f/v", "kind": "close", "file": "../x.npy"}))
    elif tamper == "object_array":
        np.save(folder / "values" / "000000.npy", np.array([{}], dtype=object), allow_pickle=True)
    elif tamper == "huge_value":
        (folder / "values" / "000000.npy").write_bytes(b"\0" * (MAX_VALUE_BYTES + 1))
    elif tamper == "missing_value":
        (folder / "values" / "000000.npy").unlink()
    elif tamper == "linked_values":  # e.g. pointing at the reference store
        (folder / "values").rename(tmp_path / "elsewhere")
        (folder / "values").symlink_to(tmp_path / "elsewhere")
    elif tamper == "linked_records":
        lines.rename(tmp_path / "lines")
        lines.symlink_to(tmp_path / "lines")
    elif tamper == "too_many_records":
        lines.write_text(lines.read_text() * (MAX_RECORDS + 1))
    elif tamper == "huge_records_file":
        lines.write_text(" " * (MAX_RECORDS_FILE_BYTES + 1))
    else:
        lines.write_text(json.dumps({"key": "test_f/v", "kind": "close", "file": "000000.npy",
                                     "cell": "3"}))  # fmt: skip
    with pytest.raises(StoreError):
        read_records(folder)


def test_the_mistake_that_explains_the_whole_run_is_named_first():
    from autograder.plugins import _coverage, _likely_mistakes
    from rnncourse.compare import Verdict
    from rnncourse.verdicts import CheckResult

    def values(*keys):
        return {k: Record(k, "close", np.zeros(1)) for k in keys}

    # Both mistakes give the wrong value of check a; only the second also explains check b,
    # and the first would also have broken c, d and e, which this run got right.
    broad = MistakeValues("broad", "f", "broad", "", values("a", "c", "d", "e"))
    exact = MistakeValues("exact", "f", "exact", "", values("a", "b"))
    wrong = Verdict(False, "values differ")
    failed = [CheckResult("a", wrong, [broad, exact]), CheckResult("b", wrong, [exact])]
    coverage = _coverage(failed)
    assert coverage == {"broad": 0.25, "exact": 1.0}
    assert [m.id for m in _likely_mistakes(failed, coverage)] == ["exact"]
    assert [m.id for m in _likely_mistakes(failed[:1], _coverage(failed[:1]))] == ["exact"]


def test_the_runner_sets_the_variable_the_check_api_reads():
    from autograder import runner

    assert runner.RECORD_ENV == RECORD_ENV
