"""Reading the steps of a request: Slack, email, HTTP, webhook, a record, a wait, a log."""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import urlsplit

from automate.copilot import offline_graph as g
from automate.copilot.offline_clauses import FILLER, Clause
from automate.copilot.offline_events import event_noun
from automate.copilot.offline_fields import EMAIL_KEYS, amount_key, pick_key, summary_text, template
from automate.copilot.offline_models import ModelInfo, map_fields
from automate.copilot.offline_phrases import (
    Duration,
    channels,
    duration_words,
    durations,
    emails,
    quoted,
    urls,
)
from automate.copilot.offline_state import DraftState
from automate.copilot.offline_trigger import SCHEDULE_EVENT
from automate.workflows.graph import MAX_DELAY_SECONDS

SLACK_WORD: Final = re.compile(r"\bslack\b")
EMAIL_WORD: Final = re.compile(r"\b(?:e-?mail|mail)(?:s|ed|ing)?\b")
WEBHOOK_WORD: Final = re.compile(r"\bwebhooks?\b")
COPY_WORD: Final = re.compile(r"\b(?:copy|cc|bcc|carbon copy)\b")
LOG_WORD: Final = re.compile(r"\blog(?:s|ged)?\b(?!\s*in\b)")
LOG_LEVEL: Final = re.compile(r"\b(debug|info|warnings?|warn|errors?)\b")
RECORD_VERB: Final = re.compile(
    r"\b(?:record|create|save|store|add|insert|upsert|write|keep|track|put|log|update)s?\b"
)
STORE_PLACE: Final = re.compile(r"\b(?:in|into|to)\s+(?:the\s+|our\s+)?(?:crm|database|db)\b")
WAIT_BEFORE: Final = re.compile(
    r"(?:\b(?:wait|delay|pause|sleep|hold(?: on)?|give it|allow|leave it)"
    r"(?:\s+(?:for|about|around|another))?"
    r"|\bafter(?:\s+(?:about|another))?|\bin)\s*$"
)
METHOD: Final = re.compile(r"\b(get|post|put|patch|delete)\b")
HTTP_VERB: Final = re.compile(
    r"\b(?:call|calls|hit|ping|notify|send|fetch|request|forward|push|a\s+request|an?\s+http)\b"
)
RECIPIENT: Final = re.compile(
    r"\b(?:e-?mail|mail)(?:s|ed|ing)?\s+(?:it\s+)?(?:to\s+)?(?:the\s+|our\s+)?(?P<a>[a-z][\w\-]*)"
    r"|\bto\s+(?:the\s+|our\s+)?(?P<b>[a-z][\w\-]*)"
    r"|\b(?:notify|tell|alert)\s+(?:the\s+|our\s+)?(?P<c>[a-z][\w\-]*)\s+by\s+e-?mail"
)
PEOPLE_IN_EVENT: Final = frozenset({"customer", "buyer", "payer", "user", "client", "sender"})
SLACK_TOKEN_NAMES: Final = ("SLACK_BOT_TOKEN", "SLACK_TOKEN")


class ActionReader:
    """Reads the step a clause asks for and chains it after the previous one."""

    def __init__(self, state: DraftState) -> None:
        self.state = state
        self.last_email: dict[str, Any] | None = None

    def read(self, clause: Clause) -> None:
        """Add the wait and the step ``clause`` names, in that order (nothing if none)."""
        text = clause.masked()
        wait = self._wait(clause, text)
        if wait is not None:
            self._add_wait(wait)
            text = clause.masked()
        found_urls = [(u, s) for u, s in urls(clause.text) if text[s[0] : s[1]].strip()]
        addresses = emails(text)
        if found_urls:
            if WEBHOOK_WORD.search(text):
                self._webhook(clause, text, *found_urls[0])
            else:
                self._http(clause, text, *found_urls[0])
        elif addresses and not SLACK_WORD.search(text):
            self._email(clause, text, [a for a, _s in addresses])
        elif SLACK_WORD.search(text) or channels(text):
            self._slack(clause, text)
        elif EMAIL_WORD.search(text):
            self._email(clause, text, [])
        elif (model := self._model(text)) is not None:
            self._record(clause, text, model)
        elif LOG_WORD.search(text):
            self._log(clause, text)
        elif STORE_PLACE.search(text) and RECORD_VERB.search(text) and not self.state.models:
            self.state.note(
                "No model is allow-listed for the django_model connector: add it to "
                "DJANGO_AUTOMATE['CONNECTOR_OPTIONS']['django_model']['models'] to record "
                "events in it."
            )

    # --- wait ---------------------------------------------------------------------------

    def _wait(self, clause: Clause, text: str) -> Duration | None:
        for found in durations(text):
            before = text[: found.span[0]]
            after = text[found.span[1] :]
            cue = WAIT_BEFORE.search(before)
            later = re.match(r"\s*(?:later\b|after\b)", after)
            if cue is None and not later:
                continue
            if found.seconds > MAX_DELAY_SECONDS:
                self.state.note("A wait can be at most 30 days; I left that one out.")
                return None
            start = cue.start() if cue else found.span[0]
            end = found.span[1] + (len(later.group(0)) if later and not cue else 0)
            clause.use((start, end))
            return found
        return None

    def _add_wait(self, wait: Duration) -> None:
        words = duration_words(wait.seconds)
        node = {
            "id": "wait_" + words.replace(" ", "_"),
            "type": "delay",
            "label": f"Wait {words}",
            "seconds": wait.seconds,
        }
        self.state.add_step(node, f"Waits {words} before going on.")

    # --- steps --------------------------------------------------------------------------

    def _exists(self, connector: str, name: str, value: Any) -> str:
        for node in g.nodes(self.state.graph):
            inputs = node["inputs"] if isinstance(node.get("inputs"), dict) else {}
            if node.get("connector") == connector and inputs.get(name) == value:
                self.state.say(
                    f"The draft already has that step (`{node['id']}`); I did not add another."
                )
                return str(node["id"])
        return ""

    def _secret(self, patterns: tuple[str, ...], preferred: tuple[str, ...]) -> str:
        names = self.state.catalog.secret_names
        for name in preferred:
            if name in names:
                return name
        for name in names:
            # Another vendor's secret (STRIPE_WEBHOOK_SECRET checks what Stripe sends) is
            # never the one to sign with.
            if all(re.search(p, name.upper()) for p in patterns) and "STRIPE" not in name.upper():
                return name
        return ""

    def _noun(self) -> str:
        event_type = self.state.event_type
        return "" if event_type in ("", "*", SCHEDULE_EVENT) else event_noun(event_type)

    def _summary(self) -> str:
        state = self.state
        cents = amount_key(state.keys, state.event_type, state.source).cents
        return summary_text(state.event_type if state.event_type != "*" else "", state.keys, cents)

    def _slack(self, clause: Clause, text: str) -> None:
        state = self.state
        if not self.state.allowed("slack", "post_message"):
            clause.use_all()
            return
        found = channels(text)
        if found:
            channel = found[0][0]
            clause.use(found[0][1])
        else:
            channel = "#general"
            state.say("No channel was named, so I used #general.")
        for match in SLACK_WORD.finditer(text):
            clause.use(match.span())
        if self._exists("slack", "channel", channel):
            return
        message = quoted(clause.text)
        if message:
            clause.use(message[1])
        token_name = self._secret(("SLACK", "TOKEN|BOT"), SLACK_TOKEN_NAMES)
        inputs: dict[str, Any] = {
            "channel": channel,
            "text": message[0] if message else self._summary(),
            "token": {"$secret": token_name} if token_name else "",
        }
        if not token_name:
            state.note(
                "Create a secret named SLACK_BOT_TOKEN (a Slack bot token with chat:write) "
                "and pick it as the Slack step's token."
            )
        noun = self._noun()
        node = {
            "id": f"slack_{channel.lstrip('#')}",
            "type": "action",
            "label": f"Post to {channel}",
            "connector": "slack",
            "action": "post_message",
            "inputs": inputs,
        }
        state.add_step(
            node, f"Posts {'the ' + noun if noun else 'a message'} to {channel} on Slack."
        )

    def _email(self, clause: Clause, text: str, addresses: list[str]) -> None:
        state = self.state
        if not self.state.allowed("email", "send"):
            clause.use_all()
            return
        for match in EMAIL_WORD.finditer(text):
            clause.use(match.span())
        for _address, span in emails(text):
            clause.use(span)
        copy = COPY_WORD.search(text)
        last_email = self.last_email or self._existing_email()
        if addresses and copy and last_email is not None:
            clause.use(copy.span())
            self._copy(last_email, addresses)
            return
        if addresses and not EMAIL_WORD.search(text) and self.last_email is not None:
            self._more_recipients(addresses)
            return
        to: str | list[str]
        who = ""
        if addresses:
            to = addresses[0] if len(addresses) == 1 else addresses
        else:
            to, who = self._recipient(clause, text)
        if self._exists("email", "to", to):
            return
        quote = quoted(clause.text)
        subject_quote = re.search(r"\b(?:with\s+)?(?:the\s+)?subject(?:\s+line)?\b", text)
        if quote:
            clause.use(quote[1])
            if subject_quote:
                clause.use(subject_quote.span())
        summary = self._summary()
        subject = quote[0] if quote and subject_quote else summary.split(":")[0].split(" (")[0]
        body = quote[0] if quote and not subject_quote else summary
        first = to[0] if isinstance(to, list) else to
        name = who or first.partition("@")[0] or "someone"
        shown = ", ".join(to) if isinstance(to, list) else to
        if who:
            shown = f"the {who} (the address in the event's data)"
        node = {
            "id": f"email_{name}",
            "type": "action",
            "label": f"Email {f'the {who}' if who else first}",
            "connector": "email",
            "action": "send",
            "inputs": {"to": to, "subject": subject, "text": body},
        }
        if state.add_step(node, f"Emails {shown}."):
            self.last_email = node

    def _existing_email(self) -> dict[str, Any] | None:
        found = [n for n in g.nodes(self.state.graph) if n.get("connector") == "email"]
        return found[-1] if len(found) == 1 else None

    def _copy(self, node: dict[str, Any], addresses: list[str]) -> None:
        inputs = node.setdefault("inputs", {})
        current = inputs.get("cc") or []
        current = current if isinstance(current, list) else [current]
        inputs["cc"] = [*current, *[a for a in addresses if a not in current]]
        self.state.explanations[node["id"]] = f"Also copies {', '.join(inputs['cc'])}."

    def _more_recipients(self, addresses: list[str]) -> None:
        assert self.last_email is not None
        inputs = self.last_email["inputs"]
        current = inputs["to"] if isinstance(inputs["to"], list) else [inputs["to"]]
        inputs["to"] = [*current, *[a for a in addresses if a not in current]]
        self.state.explanations[self.last_email["id"]] = f"Emails {', '.join(inputs['to'])}."

    def _recipient(self, clause: Clause, text: str) -> tuple[str, str]:
        """The address (or the template of one from the event) and, for a template, who
        it is (``"customer"``)."""
        state = self.state
        match = RECIPIENT.search(text)
        who = next((w for w in (match["a"], match["b"], match["c"]) if w), "") if match else ""
        if match:
            clause.use(match.span())
        if who in PEOPLE_IN_EVENT or who in ("them", "him", "her"):
            person = who if who in PEOPLE_IN_EVENT else self._noun() or "recipient"
            key = pick_key(state.keys, EMAIL_KEYS, types=("string",))
            if key:
                return template(key), person
            state.say(
                "I assumed the event's data has the address in `email` (no event of this "
                "type has been seen)."
            )
            return template("email"), person
        if not who or who in FILLER or who in ("me", "myself"):
            who = "you" if who in ("me", "myself") else "team"
        address = f"{who}@example.com"
        state.note(f"Replace {address} with the real address in the email step.")
        return address, ""

    def _http(self, clause: Clause, text: str, url: str, span: tuple[int, int]) -> None:
        if not self.state.allowed("http", "request"):
            clause.use_all()
            return
        clause.use(span)
        before = text[: span[0]]
        methods = METHOD.findall(before)
        verb = re.search(r"\b(?:fetch|get|read|load|check|download)\b", before)
        method = methods[-1].upper() if methods else ("GET" if verb else "POST")
        for match in METHOD.finditer(before):
            clause.use(match.span())
        for match in HTTP_VERB.finditer(before):
            clause.use(match.span())
        if self._exists("http", "url", url):
            return
        inputs: dict[str, Any] = {"method": method, "url": url}
        if method in ("POST", "PUT", "PATCH"):
            inputs["json"] = "{{ event.payload }}"
        host = urlsplit(url).hostname or "api"
        node = {
            "id": f"call_{_host_word(host)}",
            "type": "action",
            "label": f"{method} {host}",
            "connector": "http",
            "action": "request",
            "inputs": inputs,
        }
        what = "Sends the event's data as JSON to" if "json" in inputs else "Calls"
        self.state.add_step(node, f"{what} {url} ({method}).")

    def _webhook(self, clause: Clause, text: str, url: str, span: tuple[int, int]) -> None:
        if not self.state.allowed("webhook", "post"):
            clause.use_all()
            return
        clause.use(span)
        for match in WEBHOOK_WORD.finditer(text):
            clause.use(match.span())
        if self._exists("webhook", "url", url):
            return
        secret = self._secret(("WEBHOOK|SIGNING", "SECRET|KEY"), ("WEBHOOK_SIGNING_SECRET",))
        if not secret:
            self.state.note(
                "Create a secret named WEBHOOK_SIGNING_SECRET (shared with the receiver, who "
                "checks the signature) and pick it as the webhook step's secret."
            )
        host = urlsplit(url).hostname or "receiver"
        node = {
            "id": f"webhook_{_host_word(host)}",
            "type": "action",
            "label": f"Webhook to {host}",
            "connector": "webhook",
            "action": "post",
            "inputs": {
                "url": url,
                "payload": "{{ event.payload }}",
                "secret": {"$secret": secret} if secret else "",
            },
        }
        self.state.add_step(node, f"Sends the event to {url} as a signed webhook.")

    def _model(self, text: str) -> ModelInfo | None:
        models = self.state.models
        if not models or not RECORD_VERB.search(text):
            return None
        words = set(re.findall(r"[a-z]+", text))
        place = bool(STORE_PLACE.search(text))

        def score(model: ModelInfo) -> int:
            names = {model.name, model.name + "s", *model.words}
            value = 3 if names & words else 0
            value += 2 if (set(model.app_words) - {"demo", "app"}) & words else 0
            return value + (1 if place and len(models) == 1 else 0)

        best = max(models, key=score)
        return best if score(best) >= (1 if len(models) == 1 and place else 2) else None

    def _record(self, clause: Clause, text: str, model: ModelInfo) -> None:
        state = self.state
        for pattern in (RECORD_VERB, STORE_PLACE):
            for match in pattern.finditer(text):
                clause.use(match.span())
        for word in {model.name, *model.app_words}:
            for match in re.finditer(rf"\b{re.escape(word)}s?\b", text):
                clause.use(match.span())
        if self._exists("django_model", "model", model.label):
            return
        if not state.allowed("django_model", "create"):
            return
        mapped = map_fields(model, state.keys, model.name, self._noun())
        inputs: dict[str, Any] = {"model": model.label}
        if mapped.lookup:
            action = "update_or_create"
            inputs.update(lookup=mapped.lookup, fields=mapped.fields)
        else:
            action = "create"
            inputs["fields"] = mapped.fields
        if mapped.guessed and (mapped.fields or mapped.lookup):
            state.say(
                f"No event of this type has been seen, so I assumed its data has keys named "
                f"like {model.label}'s fields."
            )
        for name in mapped.unfilled:
            state.say(f"I could not tell what goes into {model.label}.{name}: fill it in the step.")
        node = {
            "id": f"record_{model.name}",
            "type": "action",
            "label": f"{'Update or create' if mapped.lookup else 'Create'} a {model.label}",
            "connector": "django_model",
            "action": action,
            "inputs": inputs,
        }
        by = f" (found by {', '.join(mapped.lookup)})" if mapped.lookup else ""
        filled = ", ".join([*mapped.lookup, *mapped.fields]) or "no fields"
        state.add_step(node, f"Records the {model.name} in {model.label}{by}: {filled}.")

    def _log(self, clause: Clause, text: str) -> None:
        if not self.state.allowed("log", "write"):
            clause.use_all()
            return
        for match in LOG_WORD.finditer(text):
            clause.use(match.span())
        level_match = LOG_LEVEL.search(text)
        level = level_match.group(1) if level_match else "info"
        level = {"warn": "warning", "warnings": "warning", "errors": "error"}.get(level, level)
        if level_match:
            clause.use(level_match.span())
        quote = quoted(clause.text)
        if quote:
            clause.use(quote[1])
        node = {
            "id": "log_event",
            "type": "action",
            "label": "Write to the log",
            "connector": "log",
            "action": "write",
            "inputs": {"message": quote[0] if quote else self._summary(), "level": level},
        }
        self.state.add_step(node, f"Writes the event to the application log ({level}).")


def _host_word(host: str) -> str:
    labels = [part for part in host.split(".") if part not in ("www", "api", "hooks", "com")]
    return (labels[0] if labels else host.split(".")[0]).replace("-", "_")
