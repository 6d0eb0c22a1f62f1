"""/api/v1/query, /query_range and the metadata endpoints answer as upstream (spec http-api.md §2-§6)."""

from __future__ import annotations

from tests.web.conftest import T0


def test_instant_vector_carries_evaluation_time_and_values_as_strings(served):
    status, body = served.api("query", {"query": 'up{job="node"}', "time": T0 + 7.5})
    assert status == 200
    metric = {"__name__": "up", "instance": "localhost:9100", "job": "node"}
    assert body == {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": metric, "value": [T0 + 7.5, "1"]}]}}


def test_grafana_health_check_posts_one_plus_one_at_time_four(served):
    status, body = served.api("query", method="POST", form={"query": "1+1", "time": "4"})
    assert status == 200
    assert body == {"status": "success", "data": {"resultType": "scalar", "result": [4, "2"]}}


def test_post_with_parameters_only_in_the_url_works(served):
    status, body = served.api("query", {"query": "3", "time": "10"}, method="POST", form={})
    assert body["data"] == {"resultType": "scalar", "result": [10, "3"]}


def test_a_form_body_value_wins_over_the_url(served):
    status, body = served.api("query", {"query": "3", "time": "10"}, method="POST", form={"query": "4"})
    assert body["data"]["result"] == [10, "4"]


def test_string_literals_may_use_single_quotes(served):
    _, body = served.api("query", {"query": "up{job='node'}", "time": T0})
    assert [s["metric"]["job"] for s in body["data"]["result"]] == ["node"]


def test_matrix_result_of_an_instant_query_has_raw_sample_timestamps(served):
    _, body = served.api("query", {"query": 'up{job="node"}[1m]', "time": T0})
    (series,) = body["data"]["result"]
    assert body["data"]["resultType"] == "matrix"
    # Prometheus 3: the range is left-open, (T0-60s, T0]
    assert series["values"] == [[T0 - 45, "1"], [T0 - 30, "1"], [T0 - 15, "1"], [T0, "1"]]


def test_range_query_lists_only_the_steps_with_values_sorted_by_labels(served):
    status, body = served.api("query_range", {"query": 'http_requests_total{job="app"}',
                                              "start": T0 - 60, "end": T0, "step": "30s"})
    assert status == 200
    result = body["data"]["result"]
    assert body["data"]["resultType"] == "matrix"
    assert [s["metric"]["instance"] for s in result] == ["a:9100", "b:9100", "c:9100"]
    # a:9100 grows by 15 per 15 s scrape: 600, 570... at T0-60 it is 540
    assert result[0]["values"] == [[T0 - 60, "540"], [T0 - 30, "570"], [T0, "600"]]


def test_range_query_of_a_scalar_is_one_series_with_empty_metric(served):
    _, body = served.api("query_range", {"query": "2", "start": 0, "end": 20, "step": 10})
    assert body["data"] == {"resultType": "matrix", "result": [{"metric": {}, "values": [
        [0, "2"], [10, "2"], [20, "2"]]}]}


def test_a_parse_error_is_400_bad_data_with_line_and_column(served):
    status, body = served.api("query", {"query": "sum("})
    assert status == 400
    assert body == {"status": "error", "errorType": "bad_data",
                    "error": 'invalid parameter "query": 1:5: parse error: unclosed left parenthesis'}


def test_a_missing_query_is_a_parse_error(served):
    status, body = served.api("query")
    assert status == 400
    assert body["errorType"] == "bad_data"
    assert body["error"].endswith("parse error: no expression found in input")


def test_range_parameters_are_checked_in_upstream_order_with_upstream_messages(served):
    cases = [
        ({"query": "up", "start": "x", "end": "1", "step": "1"},
         'invalid parameter "start": cannot parse "x" to a valid timestamp'),
        ({"query": "up", "end": "1", "step": "1"},
         'invalid parameter "start": cannot parse "" to a valid timestamp'),
        ({"query": "up", "start": "10", "end": "1", "step": "1"},
         'invalid parameter "end": end timestamp must not be before start time'),
        ({"query": "up", "start": "0", "end": "1", "step": "0"},
         'invalid parameter "step": zero or negative query resolution step widths are not accepted. '
         "Try a positive integer"),
        ({"query": "up", "start": "0", "end": "11001", "step": "1"},
         "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution "
         "(?step=XX)"),
        ({"query": "up[5m]", "start": "0", "end": "1", "step": "1"},
         'invalid parameter "query": invalid expression type "range vector" for range query, '
         "must be Scalar or instant Vector"),
    ]
    for params, message in cases:
        status, body = served.api("query_range", params)
        assert (status, body["errorType"], body["error"]) == (400, "bad_data", message), params


def test_eleven_thousand_steps_and_a_fraction_are_still_allowed(served):
    status, _ = served.api("query_range", {"query": "1", "start": "0", "end": "11000.001", "step": "1"})
    assert status == 200


def test_duplicate_label_sets_are_422_execution_and_the_server_keeps_answering(served):
    status, body = served.api("query", {"query": '{job="app"} * 1', "time": T0})
    assert status == 422
    assert body["errorType"] == "execution"
    assert "vector cannot contain metrics with the same labelset" in body["error"]
    status, body = served.api("query", {"query": "up", "time": T0})
    assert status == 200 and len(body["data"]["result"]) == 4


def test_too_many_samples_is_422_execution_without_changing_the_limit_for_others(served):
    served.server.engine.max_samples = 10
    status, body = served.api("query", {"query": "http_requests_total[10m]", "time": T0})
    assert (status, body["errorType"]) == (422, "execution")
    assert "too many samples" in body["error"]
    served.server.engine.max_samples = 50_000_000
    assert served.api("query", {"query": "http_requests_total[10m]", "time": T0})[0] == 200


def test_a_query_over_its_timeout_is_503_timeout_and_the_next_query_is_unaffected(served):
    status, body = served.api("query_range", {"query": "up + up + up", "start": T0 - 600, "end": T0,
                                              "step": "15", "timeout": "0.000000001"})
    assert (status, body["errorType"]) == (503, "timeout")
    assert body["error"].startswith("query timed out")
    assert served.server.engine.timeout_s == 120.0
    assert served.api("query_range", {"query": "up", "start": T0 - 600, "end": T0, "step": "15"})[0] == 200


def test_limit_truncates_a_vector_with_a_warning(served):
    _, body = served.api("query", {"query": "up", "time": T0, "limit": "2"})
    assert len(body["data"]["result"]) == 2
    assert body["warnings"] == ["results truncated due to limit"]


def test_series_returns_the_union_of_all_selectors(served):
    status, body = served.api("series", [("match[]", 'up{job="node"}'), ("match[]", "temperature_celsius"),
                                         ("match[]", 'up{job="node"}')])
    assert status == 200
    assert body["data"] == [
        {"__name__": "temperature_celsius", "instance": "localhost:9100", "job": "node", "sensor": "cpu"},
        {"__name__": "up", "instance": "localhost:9100", "job": "node"},
    ]


def test_series_filters_by_time_range(served):
    _, body = served.api("series", {"match[]": "up", "start": T0 + 3600, "end": T0 + 7200})
    assert body["data"] == []


def test_series_needs_a_match_and_a_non_empty_matcher(served):
    assert served.api("series")[1]["error"] == "no match[] parameter provided"
    status, body = served.api("series", {"match[]": '{job=~".*"}'})
    assert status == 400
    assert body["error"] == 'invalid parameter "match[]": match[] must contain at least one non-empty matcher'
    status, body = served.api("labels", {"match[]": '{foo=""}'})
    assert body["error"] == "match[] must contain at least one non-empty matcher"
    assert served.api("series", {"match[]": '{__name__=~".+"}'})[0] == 200


def test_labels_lists_sorted_names_optionally_restricted_by_match(served):
    assert served.api("labels")[1]["data"] == ["__name__", "instance", "job", "sensor"]
    assert served.api("labels", {"match[]": "up"})[1]["data"] == ["__name__", "instance", "job"]


def test_label_values_of_name_lists_metric_names_and_limit_warns(served):
    _, body = served.api("label/__name__/values")
    assert body["data"] == ["http_requests_total", "temperature_celsius", "up"]
    _, body = served.api("label/instance/values", {"match[]": 'up{job="app"}', "limit": "2"})
    assert body["data"] == ["a:9100", "b:9100"]
    assert body["warnings"] == ["results truncated due to limit"]
    assert served.api("label/nonexistent/values")[1]["data"] == []


def test_label_values_decodes_utf8_escaped_names_and_refuses_bad_escapes(served):
    assert served.api("label/U__j_6f_b/values")[1]["data"] == ["app", "node"]
    assert served.api("label/foo-bar/values") == (200, {"status": "success", "data": []})  # valid in 3.x
    status, body = served.api("label/U__a_zz_/values")
    assert (status, body["error"]) == (400, 'invalid label name: "U__a_zz_"')


def test_label_values_is_get_only_so_grafana_falls_back_from_post(served):
    status, headers, body = served.get("/api/v1/label/job/values", method="POST", form={})
    assert status == 405
    assert headers["Allow"] == "GET, OPTIONS"


def test_exemplar_queries_return_an_empty_list_or_204_without_selectors(served):
    assert served.api("query_exemplars", {"query": "up", "start": T0 - 60, "end": T0}) == (
        200, {"status": "success", "data": []})
    assert served.get("/api/v1/query_exemplars", {"query": "1+1"})[0] == 204
    status, body = served.api("query_exemplars", {"query": "sum("})
    assert (status, body["error"]) == (400, "1:5: parse error: unclosed left parenthesis")
    status, body = served.api("query_exemplars", {"query": "up", "start": "10", "end": "1"})
    assert body["error"] == "end timestamp must not be before start timestamp"


def test_format_query_prints_the_canonical_form(served):
    _, body = served.api("format_query", {"query": "sum(rate(x[5m]))by(job)"})
    assert body["data"] == "sum by (job) (rate(x[5m]))"


def test_parse_query_returns_the_syntax_tree(served):
    _, body = served.api("parse_query", {"query": 'up{job="node"}'})
    assert body["data"]["type"] == "vectorSelector"
    assert {"name": "job", "type": "=", "value": "node"} in body["data"]["matchers"]


def test_failing_queries_running_at_the_same_time_do_not_disturb_good_ones(served):
    from concurrent.futures import ThreadPoolExecutor

    bad = [("query", {"query": "sum(", "time": T0}),
           ("query", {"query": '{job="app"} * 1', "time": T0}),
           ("query_range", {"query": "up + up", "start": T0 - 600, "end": T0, "step": "1",
                            "timeout": "0.000000001"})] * 4
    good = [("query", {"query": 'sum(up{job="app"})', "time": T0})] * 12
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda req: served.api(*req), bad + good))
    assert [status for status, _ in results[:12]] == [400, 422, 503] * 4
    assert all(r == (200, {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {}, "value": [T0, "3"]}]}}) for r in results[12:])


def test_lookback_delta_applies_to_one_request_only(served):
    # The last samples are at T0; a minute later they are still within the default 5 m lookback.
    params = {"query": 'up{job="node"}', "time": T0 + 60}
    assert len(served.api("query", params)[1]["data"]["result"]) == 1
    assert served.api("query", {**params, "lookback_delta": "30s"})[1]["data"]["result"] == []
    assert len(served.api("query", params)[1]["data"]["result"]) == 1
