"""What a connector is: ``ConnectorAdapter``, its ``ActionSpec``\\s and the ``ExecutionContext``.

A connector is the only code that touches the outside world. The orchestrator decides
what runs; it calls ``adapter.run(action, params, context)``, which checks the action
exists, validates the inputs against the action's JSON Schema, calls the connector's
``execute`` and checks that it returned a JSON object. Whatever goes wrong comes out as a
``ConnectorError`` whose ``retryable`` tells the worker what to do next.
"""

from __future__ import annotations

import copy
import json
import math
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from automate.exceptions import AutomateError
from automate.governance.redaction import redact, redact_text
from automate.observability.tracing import format_traceparent, new_span_id, new_trace_id

from .exceptions import (
    ConnectorError,
    ConnectorInputError,
    ConnectorOutputError,
    ConnectorRegistrationError,
    MissingSecretError,
    UnknownActionError,
)
from .triggers import ConnectorTrigger, WebhookTriggers

__all__ = [
    "ACTION_NAME_PATTERN",
    "CODE_PATTERN",
    "ActionSpec",
    "ConnectorAdapter",
    "ExecutionContext",
    "StepSecrets",
]

CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,49}$")
ACTION_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

# An error message listing more problems than this gets "… and N more"; details keep all.
_MAX_LISTED_PROBLEMS = 10
# jsonschema messages repeat the offending value, which can be a whole document.
_MAX_PROBLEM_CHARS = 300
_MAX_ERROR_CHARS = 2000
# Outputs are stored as JSON; nothing legitimate nests this deep.
_MAX_OUTPUT_DEPTH = 64
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------
# ActionSpec
# ---------------------------------------------------------------------------------------


def _lift_required_flags(schema: dict[str, Any]) -> None:
    # The shorthand marks a field with "required": True; JSON Schema wants the parent to
    # list it in "required": [...]. Nested objects (and arrays of objects) may use it too.
    properties = schema.get("properties")
    if isinstance(properties, dict):
        required = schema.get("required")
        lifted: list[str] = list(required) if isinstance(required, list) else []
        for name, prop in properties.items():
            if not isinstance(prop, dict):
                continue
            flag = prop.get("required")
            if isinstance(flag, bool):
                del prop["required"]
                if flag and name not in lifted:
                    lifted.append(name)
            _lift_required_flags(prop)
        if lifted:
            schema["required"] = lifted
    items = schema.get("items")
    if isinstance(items, dict):
        _lift_required_flags(items)


def _normalise_schema(value: object, what: str) -> dict[str, Any]:
    """One JSON Schema object from a full schema or the ``{field: schema}`` shorthand."""
    if not isinstance(value, Mapping):
        raise ConnectorRegistrationError(
            f'ActionSpec {what} must be a dict (a JSON Schema with "type": "object", or '
            f"a map of field name to field schema), not {type(value).__name__}."
        )
    if value.get("type") == "object":
        schema: dict[str, Any] = copy.deepcopy(dict(value))
    else:
        for name, prop in value.items():
            if not isinstance(name, str) or not isinstance(prop, Mapping):
                raise ConnectorRegistrationError(
                    f"ActionSpec {what}: field {name!r} must map to a JSON Schema dict such "
                    f'as {{"type": "string"}}, not {prop!r}. (A full schema needs '
                    f'"type": "object" at the top.)'
                )
        schema = {"type": "object", "properties": copy.deepcopy(dict(value))}
    _lift_required_flags(schema)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path) or "the top level"
        raise ConnectorRegistrationError(
            f"ActionSpec {what} is not a valid JSON Schema: {exc.message} (at {where})."
        ) from None
    return schema


def _is_secret_schema(schema: object) -> bool:
    return isinstance(schema, Mapping) and (
        schema.get("format") == "secret" or schema.get("x-secret") is True
    )


def _secret_paths(schema: Mapping[str, Any], prefix: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return
    for name, prop in properties.items():
        if _is_secret_schema(prop):
            yield (*prefix, name)
        elif isinstance(prop, Mapping):
            yield from _secret_paths(prop, (*prefix, name))


def _format_path(parts: list[str | int]) -> str:
    text = "inputs"
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            text += f".{part}"
        else:
            text += f"[{json.dumps(part)}]"
    return text


def _missing_property(error: Any) -> str | None:
    # jsonschema reports a missing property at its parent object; the studio wants the
    # field itself, so find which of the required names this error is about.
    for name in error.validator_value:
        if (
            isinstance(error.instance, Mapping)
            and name not in error.instance
            and error.message.startswith(repr(name))
        ):
            return str(name)
    return None


_TEMPLATE_MARKERS = ("{{", "{%", "{#")
_REFERENCE_PREFIXES = ("$secret:", "$env:")
# Checks that combine sub-schemas: when any value below is decided at run time, so is the
# check (a template may well render to whatever the other branch wants).
_COMBINING = frozenset(
    {"anyOf", "oneOf", "allOf", "not", "if", "then", "else", "contains", "dependentSchemas"}
)


def _run_time_value(value: object) -> bool:
    """A template or a secret/env reference: its value is only known when the step runs."""
    if isinstance(value, str):
        return value.startswith(_REFERENCE_PREFIXES) or any(m in value for m in _TEMPLATE_MARKERS)
    return (
        isinstance(value, Mapping) and len(value) == 1 and ("$secret" in value or "$env" in value)
    )


def _holds_run_time_value(value: object) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if _run_time_value(item):
            return True
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _without_empty(value: Any) -> Any:
    """``value`` with object fields holding ``null`` or empty text left out (the studio
    stores an empty field that way; a required one is then reported as missing)."""
    if isinstance(value, Mapping) and not _run_time_value(value):
        return {
            key: _without_empty(item)
            for key, item in value.items()
            if item is not None and item != ""
        }
    if isinstance(value, list):
        return [_without_empty(item) for item in value]
    return value


def _decided_at_run_time(inputs: Any, path: list[str | int], error: Any) -> bool:
    """Whether the value ``error`` is about (or one it is inside) is a template or a
    reference, or the error combines sub-schemas over such a value."""
    value = inputs
    if _run_time_value(value):
        return True
    for part in path:
        if isinstance(value, Mapping) and isinstance(part, str):
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            value = value[part]
        else:
            return False
        if _run_time_value(value):
            return True
    return error.validator in _COMBINING and _holds_run_time_value(value)


def _worded(error: Any, secret_paths: set[tuple[str, ...]]) -> dict[str, str]:
    """One jsonschema error as ``{"path", "message"}`` (see ``ActionSpec.input_errors``)."""
    path: list[str | int] = list(error.absolute_path)
    message: str = error.message
    if error.validator == "required":
        missing = _missing_property(error)
        if missing is not None:
            path.append(missing)
    elif any(tuple(path[: len(secret)]) == secret for secret in secret_paths):
        # The default message starts with the value itself: the secret.
        message = f"is not a valid value (fails the {error.validator!r} check)"
    return {
        "path": _format_path(path),
        "message": _shorten(redact_text(message), _MAX_PROBLEM_CHARS),
    }


@dataclass(frozen=True)
class ActionSpec:
    """One action a connector offers: its inputs, outputs and whether it is idempotent.

    ``inputs`` (and ``outputs``) is either a full JSON Schema object::

        {"type": "object", "properties": {"channel": {"type": "string"}}, "required": ["channel"]}

    or the shorthand map of field name to field schema, with ``"required": True`` on the
    fields that must be present::

        {"channel": {"type": "string", "required": True}, "text": {"type": "string"}}

    Both become one JSON Schema (``input_schema``), checked when the spec is created: an
    invalid schema raises ``ConnectorRegistrationError``. Mark fields that hold
    credentials with ``"format": "secret"`` (or ``"x-secret": True``): the studio offers a
    secret picker for them and publishing requires a ``$secret`` reference, never a
    literal (see ``secret_fields``).

    ``idempotent`` says that repeating the action with the same
    ``context.idempotency_key`` has no further effect, so the worker may retry it freely.

    ``side_effects`` (default ``True``) says that running the action changes something
    outside the run: it writes rows, sends a message, calls an API that acts. The studio's
    "Test this step" runs such an action only after the user confirms that it will really
    write or send. Set it to ``False`` only for actions that read or compute and change
    nothing (a transform, a log line); ``ConnectorAdapter.has_side_effects`` can decide
    from the inputs instead (the ``http`` connector: ``GET`` and ``HEAD`` change nothing).
    """

    inputs: dict[str, Any]
    outputs: dict[str, Any] | None = None
    idempotent: bool = False
    side_effects: bool = True
    description: str = ""
    label: str = ""
    #: The action's name, for connectors that list their actions (``Connector.actions()``);
    #: a ``ConnectorAdapter`` names them by their key in ``actions`` instead.
    name: str = ""
    _input_schema: dict[str, Any] = field(init=False, repr=False, compare=False)
    _output_schema: dict[str, Any] = field(init=False, repr=False, compare=False)
    _validator: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        input_schema = _normalise_schema(self.inputs, "inputs")
        output_schema = _normalise_schema(
            {"type": "object"} if self.outputs is None else self.outputs, "outputs"
        )
        validator = Draft202012Validator(
            input_schema, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        # Frozen dataclass: derived fields are set once, here.
        object.__setattr__(self, "_input_schema", input_schema)
        object.__setattr__(self, "_output_schema", output_schema)
        object.__setattr__(self, "_validator", validator)

    @property
    def input_schema(self) -> dict[str, Any]:
        """The inputs as one JSON Schema (Draft 2020-12) object; a copy, safe to modify."""
        return copy.deepcopy(self._input_schema)

    @property
    def output_schema(self) -> dict[str, Any]:
        """The outputs as one JSON Schema object (``{"type": "object"}`` when not given)."""
        return copy.deepcopy(self._output_schema)

    def secret_fields(self) -> list[str]:
        """Input fields marked as secrets, as dotted paths (``"api_key"``, ``"auth.token"``).

        Publishing a workflow requires these fields to hold a secret reference
        (``{"$secret": "NAME"}``) rather than a literal value.
        """
        return [".".join(path) for path in _secret_paths(self._input_schema, ())]

    def with_defaults(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``params`` with each missing top-level field set to its ``default``."""
        filled = dict(params)
        for name, prop in self._input_schema.get("properties", {}).items():
            if name not in filled and isinstance(prop, Mapping) and "default" in prop:
                filled[name] = copy.deepcopy(prop["default"])
        return filled

    def input_errors(self, params: object) -> list[dict[str, str]]:
        """Every way ``params`` breaks the input schema, as ``{"path", "message"}`` dicts.

        Paths start at ``inputs`` (``inputs.items[0].sku``); a missing required field is
        reported at the field itself (``inputs.channel``). Messages never repeat the
        value of a secret field, and pass through ``redact_text``. Empty when valid.
        """
        secret_paths = set(_secret_paths(self._input_schema, ()))
        problems = [_worded(error, secret_paths) for error in self._validator.iter_errors(params)]
        problems.sort(key=lambda problem: (problem["path"], problem["message"]))
        return problems

    def publish_errors(self, inputs: Mapping[str, Any]) -> list[dict[str, str]]:
        """What in a step's stored (unrendered) ``inputs`` already breaks the input schema.

        Like :meth:`input_errors`, with each problem's ``kind``: ``"required"`` for a
        required field that is absent, ``null`` or empty text (at any depth), ``"schema"``
        for a wrong type, a value outside an ``enum``, an unknown field and the like. A value
        that is still a template or a ``$secret``/``$env`` reference is only known when the
        step runs, so it is not judged here (nor is a check that looks into one).
        """
        present = _without_empty(self.with_defaults(inputs))
        secret_paths = set(_secret_paths(self._input_schema, ()))
        problems: list[dict[str, str]] = []
        for error in self._validator.iter_errors(present):
            path: list[str | int] = list(error.absolute_path)
            if _decided_at_run_time(present, path, error):
                continue
            missing = _missing_property(error) if error.validator == "required" else None
            if missing is not None:
                where: list[str | int] = [*path, missing]
                secret = tuple(where) in secret_paths
                problems.append(
                    {
                        "path": _format_path(where),
                        "message": "is required: pick a secret"
                        if secret
                        else "is required: enter a value or a template",
                        "kind": "required",
                    }
                )
                continue
            problems.append({**_worded(error, secret_paths), "kind": "schema"})
        problems.sort(key=lambda problem: (problem["path"], problem["message"]))
        return problems

    def validate_inputs(self, params: object, *, where: str = "") -> dict[str, Any]:
        """Check ``params`` against the input schema; return them with defaults filled in.

        Raises ``ConnectorInputError`` (code ``invalid_inputs``, never retryable) listing
        every problem with its path, e.g. ``inputs.channel: 'channel' is a required
        property``. ``where`` (such as ``"slack.post_message"``) is named in the message.
        """
        filled = self.with_defaults(params) if isinstance(params, Mapping) else params
        problems = self.input_errors(filled)
        if problems:
            listed = "; ".join(
                f"{problem['path']}: {problem['message']}"
                for problem in problems[:_MAX_LISTED_PROBLEMS]
            )
            if len(problems) > _MAX_LISTED_PROBLEMS:
                listed += f"; … and {len(problems) - _MAX_LISTED_PROBLEMS} more"
            subject = f"Invalid inputs for {where}" if where else "Invalid inputs"
            raise ConnectorInputError(f"{subject}: {listed}", errors=problems)
        assert isinstance(filled, dict)  # the schema's "type": "object" held
        return filled

    def describe(self, name: str) -> dict[str, Any]:
        """This action as JSON for the studio and the API (``name`` is the action's key)."""
        return {
            "name": name,
            "label": self.label or name.replace("_", " ").capitalize(),
            "description": self.description,
            "idempotent": self.idempotent,
            "side_effects": self.side_effects,
            "input_schema": self.input_schema,
            "output_schema": self.output_schema,
            "secret_fields": self.secret_fields(),
        }


# ---------------------------------------------------------------------------------------
# ExecutionContext
# ---------------------------------------------------------------------------------------


class StepSecrets(Mapping[str, str]):
    """The resolved secrets a step referenced, by name; read-only and never printed.

    ``secrets["API_KEY"]`` for a name the step did not reference raises
    ``MissingSecretError`` (a non-retryable ``ConnectorError`` that is also a
    ``KeyError``), so ``secrets.get("API_KEY")`` returns ``None`` as for any mapping.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values: dict[str, str] = dict(values or {})

    def __getitem__(self, name: str) -> str:
        try:
            return self._values[name]
        except KeyError:
            raise MissingSecretError(
                f"The step did not provide the secret {name!r}: reference it in the step's "
                f'inputs as {{"$secret": "{name}"}}.',
                details={"secret": name},
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        # Names only: a context printed in a traceback or a log line shows no value.
        return f"StepSecrets({sorted(self._values)!r})"


@dataclass(frozen=True, kw_only=True)
class ExecutionContext:
    """Everything a connector may know about the step it is running, besides its inputs.

    * ``secrets``: the resolved values of the secrets the step referenced, by name
      (``context.secrets["API_KEY"]``, ``context.secrets.get("API_KEY")``).
    * ``idempotency_key``: ``"<run_id>:<node_id>"``, the same on every attempt; send it
      to remote APIs that deduplicate (``Idempotency-Key`` header) so a retry after a
      lost response does not act twice.
    * ``trace_id`` / ``traceparent()``: propagate the run's trace to outbound calls.
    * ``attempt`` (1 on the first try), ``tenant``, ``run_id``, ``node_id``.
    * ``timeout_seconds`` and ``deadline`` (a ``time.monotonic()`` value, by default
      ``timeout_seconds`` after the context is created): use ``remaining_seconds()`` as
      the timeout of outbound calls.
    """

    run_id: str = ""
    node_id: str = ""
    trace_id: str = field(default_factory=new_trace_id)
    span_id: str = field(default_factory=new_span_id)
    attempt: int = 1
    tenant: str = ""
    idempotency_key: str = ""
    timeout_seconds: float = 60.0
    # NaN means "not given": __post_init__ sets it to timeout_seconds from now.
    deadline: float = math.nan
    secrets: Mapping[str, str] = field(default_factory=StepSecrets, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.secrets, StepSecrets):
            object.__setattr__(self, "secrets", StepSecrets(self.secrets))
        if not self.idempotency_key:
            object.__setattr__(self, "idempotency_key", f"{self.run_id}:{self.node_id}")
        if math.isnan(self.deadline):
            object.__setattr__(self, "deadline", time.monotonic() + self.timeout_seconds)

    def traceparent(self) -> str:
        """The W3C ``traceparent`` header for outbound calls: ``00-<trace>-<span>-01``."""
        return format_traceparent(self.trace_id, self.span_id)

    def remaining_seconds(self) -> float:
        """Seconds left before ``deadline`` (0.0 once it has passed)."""
        return max(0.0, self.deadline - time.monotonic())


# ---------------------------------------------------------------------------------------
# ConnectorAdapter
# ---------------------------------------------------------------------------------------


def _json_problem(value: object, path: str, depth: int) -> str | None:
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path} is {value}, which JSON cannot hold"
    if depth >= _MAX_OUTPUT_DEPTH:
        return f"{path} is nested more than {_MAX_OUTPUT_DEPTH} levels deep"
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path} has the key {key!r}; JSON object keys must be strings"
            problem = _json_problem(item, f"{path}.{key}", depth + 1)
            if problem:
                return problem
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            problem = _json_problem(item, f"{path}[{index}]", depth + 1)
            if problem:
                return problem
        return None
    return f"{path} is a {type(value).__name__}, not a JSON value"


class ConnectorAdapter(WebhookTriggers, ABC):
    """Base class of every connector: subclass it, describe the actions, write ``execute``.

    .. code-block:: python

        class LegacyERPAdapter(ConnectorAdapter):
            code = "legacy_erp"
            name = "Legacy ERP System"
            actions = {"create_order": ActionSpec(inputs={...}, outputs={...})}

            def execute(self, action, params, context):
                ...
                return {"order_id": "42"}

    ``code`` must match ``^[a-z][a-z0-9_]{1,49}$`` and be unique among registered
    connectors. The orchestrator calls ``run()``, never ``execute()`` directly.

    Webhook triggers: declare ``triggers = {"name": TriggerSpec(...)}`` and implement
    ``verify_webhook`` (see ``automate.connectors.triggers.WebhookTriggers``).
    """

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: A Lucide icon name (https://lucide.dev/icons, e.g. ``"globe"``); the studio draws
    #: anything else (an emoji, an unknown name) as its generic connector icon.
    icon: ClassVar[str] = ""
    actions: ClassVar[dict[str, ActionSpec]] = {}

    @abstractmethod
    def execute(
        self, action: str, params: dict[str, Any], context: ExecutionContext
    ) -> dict[str, Any]:
        """Perform ``action`` with validated ``params``; return a JSON object as output.

        Raise ``ConnectorError(message, retryable=...)`` for failures you understand. Any
        other exception becomes a retryable ``ConnectorError`` with a redacted message.
        """

    @classmethod
    def definition_problems(cls) -> list[str]:
        """What is wrong with this class as a connector definition (empty when fine)."""
        problems: list[str] = []
        if not isinstance(cls.code, str) or not CODE_PATTERN.fullmatch(cls.code):
            problems.append(
                f"code {cls.code!r} must match {CODE_PATTERN.pattern} "
                "(lower-case letters, digits and _, 2 to 50 characters)"
            )
        for attribute in ("name", "description", "icon"):
            if not isinstance(getattr(cls, attribute), str):
                problems.append(f"{attribute} must be a string")
        if not isinstance(cls.actions, dict):
            problems.append("actions must be a dict of action name to ActionSpec")
            return problems
        for action, spec in cls.actions.items():
            if not isinstance(action, str) or not ACTION_NAME_PATTERN.fullmatch(action):
                problems.append(f"action name {action!r} must match {ACTION_NAME_PATTERN.pattern}")
            if not isinstance(spec, ActionSpec):
                problems.append(f"actions[{action!r}] must be an ActionSpec, not {spec!r}")
        problems.extend(cls.trigger_problems())
        return problems

    def get_action(self, action: str) -> ActionSpec:
        """The ``ActionSpec`` of ``action``; ``UnknownActionError`` when there is none."""
        spec = self.actions.get(action)
        if spec is None:
            known = ", ".join(sorted(self.actions)) or "none"
            raise UnknownActionError(
                f"Connector {self.code!r} has no action {action!r} (actions: {known}).",
                details={"connector": self.code, "action": action},
            )
        return spec

    def publish_problems(self, action: str, inputs: Mapping[str, Any]) -> list[dict[str, str]]:
        """What keeps a step of ``action`` with these stored ``inputs`` from being published.

        Each problem is ``{"field": "inputs.<name>", "message": ...}``. ``inputs`` are
        unrendered: skip values that are still templates (they are checked when the step
        runs). Default: none.
        """
        return []

    def has_side_effects(self, action: str, params: Mapping[str, Any]) -> bool:
        """Whether running ``action`` with ``params`` writes or sends something for real.

        The studio asks for an explicit confirmation before "Test this step" runs such a
        step. The default is the action's ``ActionSpec.side_effects``; override it when
        the inputs decide (``params`` may hold unrendered templates: answer ``True`` when
        in doubt).
        """
        return self.get_action(action).side_effects

    def run(
        self, action: str, params: Mapping[str, Any], context: ExecutionContext
    ) -> dict[str, Any]:
        """Validate, execute and check one action; every failure is a ``ConnectorError``.

        1. An unknown ``action`` raises ``UnknownActionError`` (``unknown_action``).
        2. ``params`` are validated against the action's input schema (defaults filled
           in); problems raise ``ConnectorInputError`` (``invalid_inputs``).
        3. ``execute`` runs, its outbound calls held to the egress allowlist of
           ``context.tenant`` (``automate.governance.egress``). A ``ConnectorError``
           it raises passes through unchanged;
           another ``AutomateError`` keeps its code and ``retryable``; any other
           exception becomes a retryable ``ConnectorError`` whose message is the
           exception's text with secrets masked.
        4. The output must be a JSON object, else ``ConnectorOutputError``
           (``invalid_output``, not retryable: the connector has a bug).
        """
        from automate.governance.egress import EgressScope, egress_scope

        where = f"{self.code}.{action}"
        spec = self.get_action(action)
        validated = spec.validate_inputs(params, where=where)
        # Outbound calls made by execute() (through the shared HTTP client) are held to
        # this step's tenant's egress allowlist, and a refusal is audited with the step.
        scope = EgressScope(
            tenant=context.tenant,
            connector=self.code,
            action=action,
            run_id=context.run_id,
            node_id=context.node_id,
            trace_id=context.trace_id,
        )
        try:
            with egress_scope(scope):
                output = self.execute(action, validated, context)
        except ConnectorError:
            raise
        except AutomateError as exc:
            raise ConnectorError(
                _shorten(redact_text(exc.message), _MAX_ERROR_CHARS),
                retryable=exc.retryable,
                code=exc.code,
                details={**redact(exc.details), "connector": self.code, "action": action},
            ) from exc
        except Exception as exc:
            # Whatever the library raised, its text may hold a token or a password.
            text = redact_text(str(exc)) or type(exc).__name__
            raise ConnectorError(
                _shorten(text, _MAX_ERROR_CHARS),
                retryable=True,
                details={
                    "connector": self.code,
                    "action": action,
                    "exception": f"{type(exc).__module__}.{type(exc).__qualname__}",
                },
            ) from exc
        if not isinstance(output, dict):
            raise ConnectorOutputError(
                f"{where} returned {type(output).__name__}, not a JSON object (dict).",
                details={"connector": self.code, "action": action},
            )
        problem = _json_problem(output, "output", 0)
        if problem:
            raise ConnectorOutputError(
                f"{where} returned an output that is not JSON: {problem}.",
                details={"connector": self.code, "action": action},
            )
        return output

    def describe(self) -> dict[str, Any]:
        """The connector and its actions as JSON, for the studio palette and the API."""
        return {
            "code": self.code,
            "name": self.name or self.code,
            "description": self.description,
            "icon": self.icon,
            "actions": [spec.describe(name) for name, spec in sorted(self.actions.items())],
            "triggers": [
                ConnectorTrigger(self, spec, self.trigger_scheme(name)).describe()
                for name, spec in sorted(self.triggers.items())
            ],
        }

    def __repr__(self) -> str:
        return f"<{type(self).__qualname__} code={self.code!r}>"
