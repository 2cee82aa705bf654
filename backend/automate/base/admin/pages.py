"""The import pages and the change list with an Import button, as Django templates kept
in the package (the ``automate`` app ships no template directory)."""

from __future__ import annotations

import functools
from typing import Any

from django.template import engines

__all__ = ["change_list_with_import", "import_page"]

_CHANGE_LIST = """{% extends "admin/change_list.html" %}{% load i18n admin_urls %}
{% block object-tools-items %}{% if has_import_permission %}<li>
<a href="{% url opts|admin_urlname:'import' %}" class="automate-import-link">
{% translate "Import JSON" %}</a></li>{% endif %}{{ block.super }}{% endblock %}
"""

_IMPORT_PAGE = """{% extends "admin/base_site.html" %}{% load i18n admin_urls %}
{% block breadcrumbs %}<div class="breadcrumbs">
<a href="{% url 'admin:index' %}">{% translate "Home" %}</a>
&rsaquo; <a href="{% url 'admin:app_list' app_label=opts.app_label %}">
{{ opts.app_config.verbose_name }}</a>
&rsaquo; <a href="{% url opts|admin_urlname:'changelist' %}">
{{ opts.verbose_name_plural|capfirst }}</a>
&rsaquo; {% translate "Import" %}
</div>{% endblock %}
{% block content %}<div id="content-main">
{% if errors %}<div class="errornote" role="alert">
<p>{% blocktranslate trimmed count counter=errors|length %}
The file was not imported; nothing was saved. Correct this problem and try again:
{% plural %}
The file was not imported; nothing was saved. Correct these {{ counter }} problems and
try again:
{% endblocktranslate %}</p>
<ul class="errorlist automate-import-errors">
{% for error in errors %}<li>{{ error }}</li>{% endfor %}</ul>
</div>{% endif %}
{% if preview %}
<p class="automate-import-summary">
{% blocktranslate trimmed count counter=preview.count with name=preview.name items=preview.items %}
{{ counter }} {{ name }} will be added. Nothing is saved until you confirm.
{% plural %}
{{ counter }} {{ items }} will be added. Nothing is saved until you confirm.
{% endblocktranslate %}</p>
<div class="results"><table id="result_list" class="automate-import-preview">
<thead><tr><th scope="col"><div class="text"><span>{% translate "Row" %}</span></div></th>
{% for name in preview.columns %}
<th scope="col"><div class="text"><span>{{ name }}</span></div></th>{% endfor %}</tr></thead>
<tbody>{% for row in preview.rows %}<tr><td>{{ forloop.counter }}</td>
{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>{% endfor %}</tbody>
</table></div>
<form method="post">{% csrf_token %}
<input type="hidden" name="data" value="{{ data }}">
<div class="submit-row">
<input type="submit" class="default" name="confirm" value="{% translate 'Confirm import' %}">
<a href="{% url opts|admin_urlname:'import' %}" class="closelink">{% translate "Cancel" %}</a>
</div></form>
{% else %}
<p>{% blocktranslate trimmed with fields=fields|join:", " max_rows=max_rows %}
A JSON list of objects, one per row, with the fields {{ fields }}. Foreign keys are given
by primary key. At most {{ max_rows }} rows. You see a preview first; nothing is saved
until you confirm it.
{% endblocktranslate %}</p>
<form method="post" enctype="multipart/form-data" novalidate>{% csrf_token %}
<fieldset class="module aligned">
<div class="form-row"><div class="flex-container">
<label for="id_file">{% translate "JSON file" %}</label>
<input type="file" name="file" id="id_file" accept=".json,application/json"></div></div>
<div class="form-row"><div class="flex-container">
<label for="id_data">{% translate "or paste JSON" %}</label>
<textarea name="data" id="id_data" rows="12" cols="80"
class="vLargeTextField">{{ data }}</textarea></div></div></fieldset>
<div class="submit-row">
<input type="submit" class="default" value="{% translate 'Preview' %}"></div>
</form>{% endif %}
</div>{% endblock %}
"""


@functools.cache
def change_list_with_import() -> Any:
    """Django's change list with an "Import JSON" button among the object tools."""
    return engines["django"].from_string(_CHANGE_LIST)


@functools.cache
def import_page() -> Any:
    """The import form, its errors, and the preview with the "Confirm import" button."""
    return engines["django"].from_string(_IMPORT_PAGE)
