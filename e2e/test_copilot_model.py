"""The copilot with a model configured, in a real browser: a site started with
``AUTOMATE_COPILOT_BASE_URL`` pointing at a local server that speaks the OpenAI
chat-completions protocol. The panel names the model, the model's first answer is
repaired from its problems, and the accepted proposal is what the server stores."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from e2e.conftest import LiveSite, screenshot
from e2e.site import free_port, manage, serve, site_env
from e2e.test_copilot import ask, new_workflow, stored
from e2e.test_editor import wait_saved
from tests.support.fake_openai import FakeOpenAI, running_fake_openai

pytestmark = pytest.mark.e2e

MODEL = "gpt-4o-mini"


def answer(node: dict) -> dict:
    """A whole proposal whose one step is ``node``, after an ``invoice.paid`` trigger."""
    return {
        "definition": {
            "trigger_spec": {"event_type": "invoice.paid"},
            "rule_spec": {},
            "graph": {
                "nodes": [{"id": "trigger", "type": "trigger"}, node],
                "edges": [{"source": "trigger", "target": node["id"]}],
            },
        },
        "explanations": {node["id"]: "Writes the paid invoice to the log."},
        "assumptions": ["I assumed a log line is enough for now."],
        "notes": [],
    }


@pytest.fixture(scope="module")
def fake_model() -> Iterator[FakeOpenAI]:
    with running_fake_openai() as fake:
        yield fake


@pytest.fixture(scope="module")
def model_site(
    tmp_path_factory: pytest.TempPathFactory, fake_model: FakeOpenAI
) -> Iterator[LiveSite]:
    var_dir = tmp_path_factory.mktemp("model-site")
    port = free_port()
    env = site_env(
        var_dir,
        port,
        AUTOMATE_COPILOT_BASE_URL=fake_model.base_url,
        AUTOMATE_COPILOT_MODEL=MODEL,
    )
    site = LiveSite(
        url=f"http://127.0.0.1:{port}",
        username="demo",
        password="",
        env=env,
        db_path=var_dir / "db.sqlite3",
    )
    manage(env, "migrate", "--noinput")
    manage(env, "automate_demo")
    site.password = (var_dir / "demo_credentials").read_text().strip()
    with serve(env, var_dir, port):
        yield site


def test_a_configured_model_drafts_is_repaired_and_is_named(model_site, fake_model, page):
    workflow_id = new_workflow(page, model_site, "Copilot: model")
    wait_saved(page)
    before = stored(model_site, workflow_id)
    # First an answer naming a connector that does not exist, then the repaired one.
    fake_model.script(
        answer=answer(
            {"id": "note", "type": "action", "connector": "fax", "action": "send", "inputs": {}}
        )
    )
    fake_model.script(
        answer=answer(
            {
                "id": "note",
                "type": "action",
                "connector": "log",
                "action": "write",
                "label": "Log the invoice",
                "inputs": {"message": "Paid: {{ event.payload.id }}"},
            }
        )
    )

    ask(page, "When an invoice is paid, write it to the log")

    assert MODEL in page.inner_text("#copilot-panel")
    assert "Offline drafter" not in page.inner_text("#copilot-panel")
    summary = page.inner_text("#copilot-summary")
    assert "Log the invoice" in summary
    assert "I assumed a log line is enough for now." in summary
    assert "corrected in 1 more round" in summary
    screenshot(page, "66-copilot-model")
    # The model was asked with structured output, then sent its problems back once.
    first, second = (request["json"] for request in fake_model.requests[-2:])
    assert first["model"] == MODEL
    assert first["response_format"]["type"] == "json_schema"
    assert "When an invoice is paid, write it to the log" in first["messages"][-1]["content"]
    assert "fax" in json.dumps(second["messages"][-1])
    assert stored(model_site, workflow_id) == before  # nothing changes until Accept

    page.click("#copilot-accept")
    page.wait_for_selector("#copilot-preview", state="hidden")
    wait_saved(page)
    _, graph, trigger, _ = stored(model_site, workflow_id)
    assert trigger == {"event_type": "invoice.paid"}
    (step,) = [node for node in graph["nodes"] if node["type"] == "action"]
    assert (step["connector"], step["action"]) == ("log", "write")
    # The spend is in the same ledger as the llm connector: one row per call.
    rows = model_site.query("SELECT model, node_id FROM automate_llmusage ORDER BY id")
    assert rows[-2:] == [(MODEL, "copilot"), (MODEL, "copilot")]
