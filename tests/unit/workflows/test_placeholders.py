from automate.workflows.placeholders import placeholder_problems


def graph(node):
    return {"nodes": [{"id": "trigger", "type": "trigger"}, node], "edges": []}


def test_each_blank_placeholder_is_a_problem_until_it_holds_a_value():
    node = {
        "id": "notify",
        "type": "action",
        "inputs": {"channel": "  ", "auth": {}},
        "placeholders": {"channel": "e.g. #alerts", "token": "a secret", "auth.token": ""},
    }
    problems = placeholder_problems(graph(node))
    assert [p["field"] for p in problems] == ["inputs.channel", "inputs.token", "inputs.auth.token"]
    assert problems[0] == {
        "node_id": "notify",
        "field": "inputs.channel",
        "message": "fill in channel: e.g. #alerts",
        "kind": "placeholder",  # still to fill in: a draft may hold it, a publish may not
    }
    node["inputs"] = {"channel": "#a", "token": {"$secret": "T"}, "auth": {"token": "{{ x }}"}}
    assert placeholder_problems(graph(node)) == []


def test_malformed_placeholders_are_a_problem():
    problems = placeholder_problems(
        graph({"id": "n", "type": "action", "placeholders": ["channel"]})
    )
    assert problems == [
        {"node_id": "n", "field": "placeholders", "message": "must map input names to hints (text)"}
    ]
    assert placeholder_problems({"nodes": "nope"}) == []
