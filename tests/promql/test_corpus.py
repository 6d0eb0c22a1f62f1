"""The upstream PromQL conformance corpus, one test per script file.

A failing file lists every failing eval as ``file:line: query`` plus what was expected and what
came back; the run ends with one line ``N passed, M failed, K skipped`` over all evals. Skipped
evals are only those ``evals.tsv`` flags as native-histogram (B) or experimental (X).
"""

from __future__ import annotations

import pytest

from tests.promql import corpus

FILES = sorted(p.name for p in corpus.TESTDATA.glob("*.test"))
FLAGS = corpus.load_flags()


def test_the_upstream_corpus_is_there():
    # Without it every test below would silently vanish: the corpus is part of CI's checks.
    assert len(FILES) == 21, f"no PromQL corpus at {corpus.CORPUS_DIR}"


@pytest.fixture(scope="module")
def outcomes(request):
    collected: list[corpus.Outcome] = []
    yield collected
    line = f"PromQL corpus evals: {corpus.summary(collected)}"
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():  # shown even when pytest captures output
        print("\n" + line)


@pytest.mark.parametrize("name", FILES)
def test_corpus_file_passes_every_float_core_eval(name, outcomes):
    results = corpus.run_file(corpus.TESTDATA / name, FLAGS)
    outcomes.extend(results)
    failures = corpus.failure_lines(results)
    assert not failures, f"{len(failures)} failing evals in {name}:\n" + "\n".join(failures)


def test_only_native_histogram_and_experimental_evals_are_skipped():
    skipped = {key for key, row in FLAGS.items() if corpus.skip_reason(row, include_experimental=False)}
    float_core = {key for key, row in FLAGS.items() if row["float_core"] == "1"}
    assert len(float_core) == 979
    assert not skipped & float_core
    assert len(skipped) + len(float_core) == len(FLAGS)


def test_runner_detects_a_wrong_expectation():
    """The runner itself must be able to fail: a deliberately wrong expected value is reported."""
    script = "load 1m\n  x{a=\"b\"} 1 2 3\n\neval instant at 2m x\n  x{a=\"b\"} 4\n"
    (ev,) = [c for c in corpus.parse_script(script) if isinstance(c, corpus.Eval)]
    from stack.tsdb import Head

    head = Head()
    corpus._load(head, 60_000, {k: v for c in corpus.parse_script(script) if not isinstance(c, corpus.Eval)
                                for k, v in c[2].items()})
    problem = corpus.run_eval(corpus._new_engine(head), ev)
    assert problem is not None and "expected 4.0, got 3.0" in problem


def test_close_follows_upstream_almost_equal():
    assert corpus.close(1.0, 1.0 + 1e-7)
    assert not corpus.close(1.0, 1.0 + 1e-5)
    assert not corpus.close(0.0, 1e-17)  # an exact zero accepts nothing but zero
    assert corpus.close(float("nan"), float("nan"))
    assert not corpus.close(float("inf"), float("-inf"))


def test_value_sequences_expand_as_the_format_describes():
    from stack.model import is_stale_nan

    assert corpus.expand_values("0+10x3") == [0, 10, 20, 30]
    assert corpus.expand_values("1-2x2 _x2 _") == [1, -1, -3, None, None, None]
    vals = corpus.expand_values("1 stale")
    assert vals[0] == 1 and is_stale_nan(vals[1])
    assert len(corpus.expand_values("{{schema:0 sum:1 count:1}}x2 5")) == 4
