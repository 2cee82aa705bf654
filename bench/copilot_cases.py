"""The sentences bench/copilot.py asks the copilot, and the structure each must produce.

Each case is a conversation: a list of ``(prompt, expected)`` turns, every turn starting
from the previous turn's proposal (a follow-up edits it). ``expected`` keys:

- ``event_type``: the trigger's event type; ``schedule``: its cron expression;
- ``rule``: ``[(var, op, value), ...]`` that must all appear in the rule (``var`` a
  suffix of the ``{"var": ...}`` name; ``value`` ``None`` to skip it); ``no_rule``: True;
- ``steps``: the steps after the trigger, in run order, each a dict of what must hold:
  ``type`` (default ``action``), ``connector``, ``action``, ``seconds``, ``retries``, and
  inputs by name (``channel``, ``to``, ``url``, ``method``, ``model``); a value that is a
  tuple lists accepted alternatives;
- ``unchanged``: the draft must stay as it was and something must be listed as not
  understood.

The bench loads the demo (``invoice.paid`` events with Stripe-shaped payloads, the
allow-listed ``demo_crm.Customer``, the ``SLACK_TOKEN`` secret) and adds a few
``order.created`` and ``user.signed_up`` events.
"""

from __future__ import annotations

from typing import Any

SLACK = {"connector": "slack", "action": "post_message"}
EMAIL = {"connector": "email", "action": "send"}
CUSTOMER = {"connector": "django_model", "model": "demo_crm.Customer"}

CASES: list[tuple[str, list[tuple[str, dict[str, Any]]]]] = [
    (
        "issue example, then its follow-ups",
        [
            (
                "When a paid invoice over 1000 EUR comes in, post to #billing on Slack and "
                "email finance",
                {
                    "event_type": "invoice.paid",
                    "rule": [("amount_paid", ">", 100000)],
                    "steps": [{**SLACK, "channel": "#billing"}, {**EMAIL}],
                },
            ),
            (
                "add a retry to the Slack step",
                {"steps": [{**SLACK, "retries": 3}, {**EMAIL}]},
            ),
            (
                "only for EUR",
                {
                    "rule": [("amount_paid", ">", 100000), ("currency", "in", None)],
                    "steps": [SLACK, EMAIL],
                },
            ),
            (
                "also create the customer in the CRM",
                {"steps": [SLACK, EMAIL, CUSTOMER]},
            ),
            ("remove the email", {"steps": [SLACK, CUSTOMER]}),
        ],
    ),
    (
        "slack channel first",
        [
            (
                "Post to Slack #sales whenever a new order is created",
                {"event_type": "order.created", "steps": [{**SLACK, "channel": "#sales"}]},
            ),
            (
                "change the channel to #orders",
                {"steps": [{**SLACK, "channel": "#orders"}]},
            ),
        ],
    ),
    (
        "email with address",
        [
            (
                "When an invoice is paid, send an email to billing@acme.test",
                {
                    "event_type": "invoice.paid",
                    "no_rule": True,
                    "steps": [{**EMAIL, "to": "billing@acme.test"}],
                },
            ),
            (
                "wait 5 minutes before the email",
                {"steps": [{"type": "delay", "seconds": 300}, {**EMAIL}]},
            ),
        ],
    ),
    (
        "webhook to url",
        [
            (
                "For every new user, send a webhook to https://hooks.example.com/signup",
                {
                    "event_type": "user.signed_up",
                    "steps": [{"connector": "webhook", "url": "https://hooks.example.com/signup"}],
                },
            ),
        ],
    ),
    (
        "POST to url",
        [
            (
                "When an order is created, POST it to https://erp.example.com/api/orders",
                {
                    "event_type": "order.created",
                    "steps": [
                        {
                            "connector": "http",
                            "method": "POST",
                            "url": "https://erp.example.com/api/orders",
                        }
                    ],
                },
            ),
            (
                "add retries to the request, up to 5 times",
                {"steps": [{"connector": "http", "retries": 5}]},
            ),
        ],
    ),
    (
        "record in model",
        [
            (
                "When an invoice is paid, record the customer in the CRM",
                {"event_type": "invoice.paid", "steps": [CUSTOMER]},
            ),
        ],
    ),
    (
        "wait then slack",
        [
            (
                "When an order is created, wait 10 minutes, then post to #fulfilment",
                {
                    "event_type": "order.created",
                    "steps": [
                        {"type": "delay", "seconds": 600},
                        {**SLACK, "channel": "#fulfilment"},
                    ],
                },
            ),
            ("change the delay to 1 hour", {"steps": [{"type": "delay", "seconds": 3600}, SLACK]}),
        ],
    ),
    (
        "amount under, usd symbol",
        [
            (
                "when an order comes in with a total under $50, log it",
                {
                    "event_type": "order.created",
                    "rule": [("total", "<", 50)],
                    "steps": [{"connector": "log"}],
                },
            ),
        ],
    ),
    (
        "at least, k suffix",
        [
            (
                "If an invoice is paid and the amount is at least 5k euros, notify #finance",
                {
                    "event_type": "invoice.paid",
                    "rule": [("amount_paid", ">=", 500000)],
                    "steps": [{**SLACK, "channel": "#finance"}],
                },
            ),
        ],
    ),
    (
        "schedule daily",
        [
            (
                "Every day at 9:00, call https://reports.example.com/daily",
                {
                    "schedule": "0 9 * * *",
                    "steps": [{"connector": "http", "url": "https://reports.example.com/daily"}],
                },
            ),
        ],
    ),
    (
        "schedule every 15 minutes",
        [
            (
                "every 15 minutes GET https://status.example.com/ping",
                {
                    "schedule": "*/15 * * * *",
                    "steps": [{"connector": "http", "method": "GET"}],
                },
            ),
        ],
    ),
    (
        "two actions with and",
        [
            (
                "When a payment succeeds, email ops@acme.test and post in the #payments channel",
                {
                    "event_type": "payment_intent.succeeded",
                    "steps": [{**EMAIL, "to": "ops@acme.test"}, {**SLACK, "channel": "#payments"}],
                },
            ),
        ],
    ),
    (
        "two recipients",
        [
            (
                "When an invoice is paid email a@acme.test and b@acme.test",
                {
                    "event_type": "invoice.paid",
                    "steps": [{**EMAIL, "to": (["a@acme.test", "b@acme.test"],)}],
                },
            ),
        ],
    ),
    (
        "email the customer",
        [
            (
                "When an invoice is paid, email the customer",
                {
                    "event_type": "invoice.paid",
                    "steps": [{**EMAIL, "to": "{{ event.payload.data.object.customer_email }}"}],
                },
            ),
        ],
    ),
    (
        "field equality",
        [
            (
                "When an order is created where the status is rush, post to #warehouse",
                {
                    "event_type": "order.created",
                    "rule": [("status", "==", "rush")],
                    "steps": [{**SLACK, "channel": "#warehouse"}],
                },
            ),
        ],
    ),
    (
        "between",
        [
            (
                "when an order is created with a total between 100 and 500, log a warning",
                {
                    "event_type": "order.created",
                    "rule": [("total", "<=", None)],
                    "steps": [{"connector": "log"}],
                },
            ),
        ],
    ),
    (
        "refund, vendor vocabulary",
        [
            (
                "When a charge is refunded, post to #refunds",
                {"event_type": "charge.refunded", "steps": [{**SLACK, "channel": "#refunds"}]},
            ),
        ],
    ),
    (
        "guessed event type",
        [
            (
                "When a ticket is escalated, email support@acme.test",
                {"event_type": "ticket.escalated", "steps": [{**EMAIL, "to": "support@acme.test"}]},
            ),
        ],
    ),
    (
        "wait in hours then email",
        [
            (
                "When a user signs up, wait 2 hours and email them",
                {
                    "event_type": "user.signed_up",
                    "steps": [{"type": "delay", "seconds": 7200}, {**EMAIL}],
                },
            ),
        ],
    ),
    (
        "edit: add a step at the end",
        [
            (
                "When an invoice is paid, post to #billing",
                {"event_type": "invoice.paid", "steps": [{**SLACK, "channel": "#billing"}]},
            ),
            (
                "also send a webhook to https://ledger.example.com/in",
                {"steps": [SLACK, {"connector": "webhook"}]},
            ),
            (
                "only when the amount is over 200 dollars",
                {"rule": [("amount_paid", ">", 20000)], "steps": [SLACK, {"connector": "webhook"}]},
            ),
            (
                "change the url to https://ledger.example.com/v2",
                {
                    "steps": [
                        SLACK,
                        {"connector": "webhook", "url": "https://ledger.example.com/v2"},
                    ]
                },
            ),
            ("remove the slack step", {"steps": [{"connector": "webhook"}]}),
        ],
    ),
    (
        "edit: change trigger",
        [
            (
                "When an invoice is paid, log it",
                {"event_type": "invoice.paid", "steps": [{"connector": "log"}]},
            ),
            (
                "trigger on new orders instead",
                {"event_type": "order.created", "steps": [{"connector": "log"}]},
            ),
        ],
    ),
    (
        "remove the condition",
        [
            (
                "When an invoice is paid over 10 USD, post to #billing",
                {"rule": [("amount_paid", ">", 1000)], "steps": [SLACK]},
            ),
            ("remove the condition", {"no_rule": True, "steps": [SLACK]}),
        ],
    ),
    (
        "nonsense is not understood",
        [
            ("make me a sandwich", {"unchanged": True}),
        ],
    ),
    (
        "unknown tool is not understood",
        [
            (
                "When an invoice is paid, post to #billing",
                {"event_type": "invoice.paid", "steps": [SLACK]},
            ),
            ("translate the poem into French", {"unchanged": True}),
        ],
    ),
    (
        "weekday schedule with slack",
        [
            (
                "every weekday at 8:30am post a reminder to #standup",
                {"schedule": "30 8 * * 1-5", "steps": [{**SLACK, "channel": "#standup"}]},
            ),
        ],
    ),
    (
        "greater than with currency code first",
        [
            (
                "When an invoice is paid and it is greater than EUR 2,500, email cfo@acme.test",
                {
                    "event_type": "invoice.paid",
                    "rule": [("amount_paid", ">", 250000)],
                    "steps": [{**EMAIL, "to": "cfo@acme.test"}],
                },
            ),
        ],
    ),
    (
        "record then notify",
        [
            (
                "When an invoice is paid, save the customer to the database and post to #crm",
                {"event_type": "invoice.paid", "steps": [CUSTOMER, {**SLACK, "channel": "#crm"}]},
            ),
            (
                "wait 30 seconds after the customer record",
                {"steps": [CUSTOMER, {"type": "delay", "seconds": 30}, SLACK]},
            ),
        ],
    ),
    (
        "unseen phrasings (written before running them)",
        [
            (
                "Ping #ops in Slack as soon as an order ships",
                {"event_type": "order.shipped", "steps": [{**SLACK, "channel": "#ops"}]},
            ),
        ],
    ),
    (
        "unseen: refund to slack and log",
        [
            (
                "Whenever we get a refund, drop a note in #finance and log it as a warning",
                {
                    "event_type": "charge.refunded",
                    "steps": [{**SLACK, "channel": "#finance"}, {"connector": "log"}],
                },
            ),
        ],
    ),
    (
        "unseen: invoices above a threshold in dollars",
        [
            (
                "For invoices paid above USD 300 send finance@acme.test an email",
                {
                    "event_type": "invoice.paid",
                    "rule": [("amount_paid", ">", 30000)],
                    "steps": [{**EMAIL, "to": "finance@acme.test"}],
                },
            ),
            (
                "Actually, make that 500",
                {"rule": [("amount_paid", ">", 50000)], "steps": [EMAIL]},
            ),
        ],
    ),
    (
        "unseen: signup drip",
        [
            (
                "3 days after someone signs up, email them",
                {
                    "event_type": "user.signed_up",
                    "steps": [{"type": "delay", "seconds": 259200}, EMAIL],
                },
            ),
            (
                "and copy sales@acme.test on it",
                {"steps": [{"type": "delay"}, EMAIL]},
            ),
        ],
    ),
    (
        "unseen: nightly export",
        [
            (
                "Each night at 2am, send a GET request to https://backup.example.com/run",
                {
                    "schedule": "0 2 * * *",
                    "steps": [{"connector": "http", "method": "GET"}],
                },
            ),
        ],
    ),
    (
        "unseen: delete then retry all",
        [
            (
                "When an order is created, post to #orders and email shop@acme.test",
                {"event_type": "order.created", "steps": [SLACK, EMAIL]},
            ),
            ("get rid of the slack message", {"steps": [EMAIL]}),
            ("retry everything twice", {"steps": [{**EMAIL, "retries": 2}]}),
        ],
    ),
    (
        "was held out: lead to slack",
        [
            (
                "Let #sales know on Slack whenever a lead is created",
                {"event_type": "lead.created", "steps": [{**SLACK, "channel": "#sales"}]},
            ),
        ],
    ),
    (
        "was held out: big order email",
        [
            (
                "If someone places an order worth more than 2000 euros, email vip@acme.test",
                {
                    "event_type": "order.created",
                    "rule": [("total", ">", 2000)],
                    "steps": [{**EMAIL, "to": "vip@acme.test"}],
                },
            ),
        ],
    ),
    (
        "was held out: failed payment webhook",
        [
            (
                "On payment failure, notify https://billing.example.com/failed via webhook",
                {
                    "event_type": ("payment_intent.payment_failed", "invoice.payment_failed"),
                    "steps": [{"connector": "webhook"}],
                },
            ),
        ],
    ),
    (
        "was held out: hourly log",
        [
            (
                "Write a line to the log every hour",
                {"schedule": "0 * * * *", "steps": [{"connector": "log"}]},
            ),
        ],
    ),
    (
        "was held out: crm then edits",
        [
            (
                "Store every paid invoice's customer in the CRM",
                {"event_type": "invoice.paid", "steps": [CUSTOMER]},
            ),
            (
                "then let #billing know",
                {"steps": [CUSTOMER, {**SLACK, "channel": "#billing"}]},
            ),
            (
                "switch the slack channel to #accounts",
                {"steps": [CUSTOMER, {**SLACK, "channel": "#accounts"}]},
            ),
            (
                "delete the CRM step",
                {"steps": [{**SLACK, "channel": "#accounts"}]},
            ),
        ],
    ),
    (
        "was held out: currency only",
        [
            (
                "When a GBP invoice is paid, post it to #uk",
                {
                    "event_type": "invoice.paid",
                    "rule": [("currency", "in", None)],
                    "steps": [{**SLACK, "channel": "#uk"}],
                },
            ),
        ],
    ),
    (
        "was held out: delay in minutes before a call",
        [
            (
                "When an order is created, give it 15 min and then call https://wms.example.com/pick",
                {
                    "event_type": "order.created",
                    "steps": [{"type": "delay", "seconds": 900}, {"connector": "http"}],
                },
            ),
        ],
    ),
    (
        "was held out: two slack channels",
        [
            (
                "When an invoice is paid, post to #billing and #sales",
                {
                    "event_type": "invoice.paid",
                    "steps": [{**SLACK, "channel": "#billing"}, {**SLACK, "channel": "#sales"}],
                },
            ),
        ],
    ),
]
"""(name, turns): at least 30 prompts in all."""

HELD_OUT: list[tuple[str, list[tuple[str, dict[str, Any]]]]] = [
    (
        "held out: customer created to crm log",
        [
            (
                "When a new customer is created, log a message",
                {"event_type": "customer.created", "steps": [{"connector": "log"}]},
            ),
        ],
    ),
    (
        "held out: slack then retry with count",
        [
            (
                "Every Monday at 10am, post to #team-updates",
                {"schedule": "0 10 * * 1", "steps": [{**SLACK, "channel": "#team-updates"}]},
            ),
            (
                "retry the slack post 4 times",
                {"steps": [{**SLACK, "retries": 4}]},
            ),
        ],
    ),
    (
        "held out: invoice less than",
        [
            (
                "Alert #collections on Slack when an invoice is paid for less than 5 EUR",
                {
                    "event_type": "invoice.paid",
                    "rule": [("amount_paid", "<", 500)],
                    "steps": [{**SLACK, "channel": "#collections"}],
                },
            ),
        ],
    ),
    (
        "held out: order to erp with PUT",
        [
            (
                "Whenever an order is updated, PUT the order to https://erp.example.com/orders",
                {
                    "event_type": "order.updated",
                    "steps": [{"connector": "http", "method": "PUT"}],
                },
            ),
        ],
    ),
    (
        "held out: email two and wait",
        [
            (
                "When an invoice payment fails, email billing@acme.test, then wait a day "
                "and email billing@acme.test again",
                {
                    "event_type": "invoice.payment_failed",
                    "steps": [EMAIL, {"type": "delay", "seconds": 86400}, EMAIL],
                },
            ),
        ],
    ),
    (
        "held out: follow-up chain on orders",
        [
            (
                "When an order is created, post it to #orders",
                {"event_type": "order.created", "steps": [{**SLACK, "channel": "#orders"}]},
            ),
            (
                "only orders above 100 EUR",
                {"rule": [("total", ">", 100)], "steps": [SLACK]},
            ),
            (
                "and only in EUR",
                {"rule": [("total", ">", 100), ("currency", "in", None)], "steps": [SLACK]},
            ),
            (
                "also send the order to https://crm.example.com/api/orders",
                {"steps": [SLACK, {"connector": "http"}]},
            ),
            (
                "remove the http call",
                {"steps": [SLACK]},
            ),
        ],
    ),
    (
        "held out: user signup to crm",
        [
            (
                "Save new signups to the customer table",
                {"event_type": "user.signed_up", "steps": [CUSTOMER]},
            ),
        ],
    ),
    (
        "held out: not understood pieces",
        [
            (
                "Summarise yesterday's invoices with GPT and put the summary in Notion",
                {"unchanged": True},
            ),
        ],
    ),
]
"""Sentences written after the drafter was tuned on ``CASES`` and not tuned on since: the
figure for phrasings the drafter has not been fitted to."""
