"""Exercise checks: correct / incorrect (with the reason) / not attempted, never a traceback."""

from workshop.exercises import CORRECT, INCORRECT, NOT_ATTEMPTED, Exercise, Incorrect


def must_be_rate(answer):
    if "rate(" not in answer:
        raise Incorrect("use rate() on a counter: its raw value only ever goes up")
    return "rate() turns the counter into a per-second rate."


EX = Exercise("q1", must_be_rate, hint="Counters only go up.", solution='q1 = "rate(x[5m])"')


def test_an_ellipsis_is_not_attempted():
    assert EX.check(...).status == NOT_ATTEMPTED


def test_a_correct_answer_says_why():
    result = EX.check("rate(http_requests_total[5m])")
    assert result.status == CORRECT and "per-second" in result.message
    assert "q1: Correct" in str(result) and "Correct" in result._repr_html_()


def test_an_incorrect_answer_says_what_is_wrong():
    result = EX.check("http_requests_total")
    assert result.status == INCORRECT and "use rate()" in result.message


def test_an_exception_in_the_participants_answer_is_reported_not_raised():
    result = Exercise("q2", lambda answer: answer()).check(lambda: 1 / 0)
    assert result.status == INCORRECT and "ZeroDivisionError" in result.message


q3 = "rate(x[1m])"


def test_the_answer_is_read_from_the_callers_namespace():
    ex = Exercise("q3", must_be_rate)
    assert ex.check().status == CORRECT


def test_an_undefined_variable_is_not_attempted():
    assert Exercise("no_such_variable_anywhere", must_be_rate).check().status == NOT_ATTEMPTED


def test_hint_and_solution_render():
    assert "Counters only go up." in str(EX.hint())
    assert "```python" in EX.solution()._repr_markdown_()
