"""Rendering a request's subject and bodies: templates run sandboxed, strict about missing variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from maildispatch.core import render
from maildispatch.core.render import RenderedContent, RenderError, TemplateSource, render_content
from maildispatch.core.request import SendRequest, parse_send_request

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events" / "requests"


def templated(template: dict[str, Any], variables: dict[str, Any] | None = None, **fields: Any) -> SendRequest:
    doc: dict[str, Any] = {"from": "shop@example.com", "to": ["an@example.net"], "template": template, **fields}
    if variables is not None:
        doc["variables"] = variables
    return parse_send_request(doc)


def inline(text: str | None = None, html: str | None = None, subject: str = "Subject", **variables: Any) -> SendRequest:
    template = {
        name: value for name, value in (("subject", subject), ("text", text), ("html", html)) if value is not None
    }
    return templated(template, variables)


def failure(request: SendRequest, template: TemplateSource | None = None) -> RenderError:
    with pytest.raises(RenderError) as caught:
        render_content(request, template)
    return caught.value


# --- what comes out -------------------------------------------------------------------------


def test_bodies_are_returned_as_they_are_without_templating() -> None:
    request = parse_send_request(
        {
            "from": "shop@example.com",
            "to": ["an@example.net"],
            "subject": "{{ not a template }}",
            "text": "Hi {{ name }}",
            "html": "<p>{{ name }} & <b>co</b></p>",
        }
    )

    assert render_content(request) == RenderedContent(
        subject="{{ not a template }}", text="Hi {{ name }}", html="<p>{{ name }} & <b>co</b></p>"
    )


def test_the_vietnamese_sample_renders_its_subject_and_both_bodies() -> None:
    request = parse_send_request((EVENTS / "welcome-vi.json").read_bytes())

    content = render_content(request)

    assert content.subject == "Chào mừng An đến với Cửa hàng Hoa Sen"
    assert content.text is not None and content.text.startswith("Xin chào An,\n")
    assert "Mã giảm giá của bạn: HOASEN10 (giảm 10% cho đơn hàng đầu tiên)" in content.text
    assert content.html is not None and "<strong>An</strong>" in content.html


def test_html_is_autoescaped_and_text_and_subject_are_not() -> None:
    request = inline(subject="Hi {{ name }}", text="Hi {{ name }}", html="<p>Hi {{ name }}</p>", name="Tom & <Jerry>")

    content = render_content(request)

    assert content.subject == "Hi Tom & <Jerry>"
    assert content.text == "Hi Tom & <Jerry>"
    assert content.html == "<p>Hi Tom &amp; &lt;Jerry&gt;</p>"


def test_vietnamese_variables_pass_through_filters_unchanged_in_form() -> None:
    request = inline(text="{{ name | upper }} / {{ city }}", name="nguyễn văn ấn", city="Hà Nội")

    assert render_content(request).text == "NGUYỄN VĂN ẤN / Hà Nội"


def test_a_text_body_keeps_its_final_newline() -> None:
    assert render_content(inline(text="Line\n")).text == "Line\n"


def test_only_the_bodies_the_template_has_are_rendered() -> None:
    content = render_content(inline(html="<p>{{ n }}</p>", n=1))

    assert (content.text, content.html) == (None, "<p>1</p>")


def test_the_rendered_subject_is_trimmed() -> None:
    assert render_content(inline(subject="  Đơn hàng #{{ n }}\n", text="t", n=1001)).subject == "Đơn hàng #1001"


def test_nested_variables_loops_and_conditions_work() -> None:
    request = inline(
        text="{% for item in order['items'] %}{{ item.name }} x{{ item.qty }}; {% endfor %}"
        "{% if coupon is defined %}{{ coupon }}{% else %}no coupon{% endif %} {{ note | default('-') }}",
        order={"items": [{"name": "Áo dài", "qty": 1}, {"name": "Nón lá", "qty": 2}]},
    )

    assert render_content(request).text == "Áo dài x1; Nón lá x2; no coupon -"


# --- stored templates -----------------------------------------------------------------------


def test_a_stored_template_is_rendered_from_the_source_the_caller_fetched() -> None:
    request = templated({"key": "welcome/v2"}, {"name": "An"})
    source = TemplateSource(subject="Chào {{ name }}", text="Xin chào {{ name }}", html=None)

    assert render_content(request, source) == RenderedContent(subject="Chào An", text="Xin chào An", html=None)


def test_the_requests_subject_overrides_a_stored_templates_subject() -> None:
    request = templated({"key": "welcome/v2"}, {"name": "An"}, subject="Fixed {{ name }}")
    source = TemplateSource(subject="Chào {{ name }}", text="t", html=None)

    assert render_content(request, source).subject == "Fixed {{ name }}"


def test_a_stored_template_without_a_subject_needs_the_requests_subject() -> None:
    error = failure(templated({"key": "welcome/v2"}), TemplateSource(subject=None, text="t", html=None))

    assert error.field == "template.subject"


def test_a_stored_template_without_a_body_is_a_render_error() -> None:
    assert failure(templated({"key": "k"}), TemplateSource(subject="s", text=None, html=None)).field == "template"


def test_a_stored_template_with_a_field_that_is_not_text_is_a_render_error() -> None:
    source = TemplateSource(subject="s", text=["not", "text"], html=None)  # type: ignore[arg-type]

    assert failure(templated({"key": "k"}), source).field == "template.text"


def test_a_stored_template_that_was_not_fetched_is_a_programming_error() -> None:
    with pytest.raises(ValueError) as caught:
        render_content(templated({"key": "welcome/v2"}))

    assert not isinstance(caught.value, RenderError)
    assert "welcome/v2" in str(caught.value)


@pytest.mark.parametrize(
    "request_doc",
    [
        {"subject": "s", "text": "t"},
        {"template": {"subject": "s", "text": "t"}},
    ],
)
def test_a_fetched_source_for_a_request_that_has_none_is_a_programming_error(request_doc: dict[str, Any]) -> None:
    request = parse_send_request({"from": "shop@example.com", "to": ["an@example.net"], **request_doc})

    with pytest.raises(ValueError) as caught:
        render_content(request, TemplateSource(subject="s", text="t", html=None))

    assert not isinstance(caught.value, RenderError)


# --- failures -------------------------------------------------------------------------------


def test_a_missing_variable_is_an_error_naming_it_never_an_empty_string() -> None:
    error = failure(inline(text="Hello\nXin chào {{ name }}"))

    assert error.field == "template.text"
    assert "'name' is undefined" in error.message
    assert "line 2" in error.message


def test_a_missing_parent_of_a_nested_variable_is_named() -> None:
    error = failure(inline(html="<p>{{ order.total }}</p>"))

    assert error.field == "template.html"
    assert "'order' is undefined" in error.message


def test_a_missing_attribute_of_a_present_variable_is_named() -> None:
    error = failure(inline(text="{{ order.total }}", order={"id": 1}))

    assert "'total'" in error.message


def test_a_missing_variable_in_the_subject_names_the_subject() -> None:
    error = failure(inline(subject="Chào {{ name }}", text="t"))

    assert error.field == "template.subject"
    assert "name" in error.message
    assert str(error) == f"template.subject: {error.message}"


@pytest.mark.parametrize(
    "field, template",
    [
        ("template.text", {"subject": "s", "text": "Hello\n\n{{ name }"}),
        ("template.html", {"subject": "s", "text": "t", "html": "<p>\n\n{% if x %}</p>"}),
        ("template.subject", {"subject": "{% for %}", "text": "t"}),
    ],
)
def test_syntax_errors_name_the_field_and_line(field: str, template: dict[str, str]) -> None:
    error = failure(templated(template, {"name": "An", "x": 1}))

    assert error.field == field
    assert "syntax error" in error.message
    assert ("line 3" in error.message) if field != "template.subject" else ("line 1" in error.message)


@pytest.mark.parametrize("name", ["An\r\nBcc: victim@example.org", "An\nX", "An\rX", "An\u2028X", "An\x00"])
def test_a_rendered_subject_must_be_one_line(name: str) -> None:
    error = failure(inline(subject="Chào {{ name }}", text="t", name=name))

    assert error.field == "template.subject"


def test_a_rendered_subject_over_998_characters_is_an_error() -> None:
    assert failure(inline(subject="{{ 'x' * 999 }}", text="t")).field == "template.subject"


def test_errors_in_the_templates_own_expressions_are_render_errors() -> None:
    error = failure(inline(text="{{ total / count }}", total=1, count=0))

    assert "ZeroDivisionError" in error.message and error.field == "template.text"


def test_an_error_names_the_template_line_it_happened_on() -> None:
    error = failure(inline(text="Hello,\n\n{{ total / count }}", total=1, count=0))

    assert error.message.startswith("ZeroDivisionError on line 3")


def test_output_over_the_cap_is_stopped_between_chunks() -> None:
    error = failure(inline(text="{{ 'x' * 2000000 }} and {{ 'y' * 2000000 }}"))

    assert error.field == "template.text" and f"renders to more than {render.MAX_RENDERED_CHARS}" in error.message


def test_a_template_cannot_make_text_that_mail_cannot_encode() -> None:
    error = failure(inline(text='{{ "\\ud800" }}'))  # Jinja unescapes the literal into a lone surrogate

    assert error.field == "template.text" and "surrogate" in error.message


def test_a_runaway_template_is_stopped() -> None:
    error = failure(
        inline(text="{% for i in range(100000) %}{% for j in range(100) %}0123456789{% endfor %}{% endfor %}")
    )

    assert "more than" in error.message


@pytest.mark.parametrize("expression", ["'x' * 200000000", "200000000 * 'x'", "[0] * 1000000000", "9 ** 10000000"])
def test_one_expression_cannot_build_something_huge(expression: str) -> None:
    """Stopped before it is built: the output cap alone would see it only after memory ran out."""
    error = failure(inline(text="{{ " + expression + " }}"))

    assert error.field == "template.text" and "sandbox" in error.message


def test_ordinary_arithmetic_and_repetition_still_work() -> None:
    assert render_content(inline(text="{{ '-' * 20 }} {{ 2 ** 10 }} {{ 3 * 4 }}")).text == "-" * 20 + " 1024 12"


# --- the sandbox ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ joiner.__init__.__globals__.os }}",
        "{{ lipsum.__globals__['os'] }}",
        "{{ self._TemplateReference__context }}",
        "{{ namespace.__init__.__globals__ }}",
        "{{ '{0.__class__.__base__}'.format(name) }}",
        "{{ name.__class__ }}",
        "{% set x = items.append(1) %}",
        "{{ items.pop() }}",
        "{{ order.update({'total': 0}) }}",
    ],
)
def test_sandbox_escapes_and_mutations_are_render_errors(payload: str) -> None:
    request = inline(text=payload, name="An", items=[1], order={"total": 1})

    error = failure(request)

    assert error.field == "template.text"
    assert list(request.variables["items"]) == [1] and request.variables["order"] == {"total": 1}


@pytest.mark.parametrize(
    "name",
    ["qty", "missing", "items", "keys", "get", "copy", "pop", "update", "setdefault", "__class__", "__len__",
     "__dict__", "__name__", "mro", "format", "__init__", "__globals__"],
)  # fmt: skip
def test_a_json_objects_members_are_looked_up_as_jinjas_own_sandbox_looks_them_up(name: str) -> None:
    """Lookups on a dict take a shortcut; what they find (a value, undefined, a refused method) must not change."""
    from jinja2 import StrictUndefined, Undefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    item = {"qty": 2, "items": "a key that shadows a method"}
    stock = ImmutableSandboxedEnvironment(undefined=StrictUndefined)

    expected, found = stock.getattr(item, name), render._environment(html=False).getattr(item, name)

    if isinstance(expected, Undefined):
        assert type(found) is type(expected)
        assert (found._undefined_name, found._undefined_hint, found._undefined_exception) == (
            expected._undefined_name,
            expected._undefined_hint,
            expected._undefined_exception,
        )
    else:
        assert found == expected  # the value, or the same bound method for the sandbox's call checks


def test_an_escape_attempt_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = "{{ cycler.__init__.__globals__.os.popen('touch " + str(marker) + "').read() }}"

    failure(inline(html=payload))

    assert not marker.exists()


# --- caching --------------------------------------------------------------------------------


def test_a_template_is_compiled_once_for_a_batch() -> None:
    source = "Xin chào {{ name }} #cache-test"
    render._compile.cache_clear()

    for name in ("An", "Bình", "Lan"):
        render_content(inline(text=source, name=name))

    info = render._compile.cache_info()
    assert (info.misses, info.hits) == (2, 4)  # the subject and the text, each compiled once
    assert info.maxsize is not None


def test_the_same_source_is_escaped_in_html_and_not_in_text() -> None:
    """The cache keys on source and kind, so one source can't borrow the other's escaping."""
    source = "{{ name }}"
    request = inline(text=source, html=source, name="<b>")

    content = render_content(request)

    assert (content.text, content.html) == ("<b>", "&lt;b&gt;")


class _Safe:
    def __html__(self) -> str:
        return "<b>kept</b>"

    def __repr__(self) -> str:  # the test id: the same in every xdist worker
        return "_Safe()"


class _Text(str):
    pass


@pytest.mark.parametrize(
    "value",
    ["<a href='x'>&\"", "", "ử & <ệ>", 3, -7, 10**30, 2.5, float("inf"), True, None, [1, "<"], {"k": "<v>"},
     _Safe(), _Text("<s>")],
    ids=repr,
)  # fmt: skip
def test_an_html_body_escapes_every_kind_of_value_as_markupsafe_does(value: Any) -> None:
    """HTML bodies escape with a quicker path for text and numbers: the output must be markupsafe's own."""
    from markupsafe import escape

    job = render.RenderJob(TemplateSource("s", None, "{{ v }}|{{ [v]|first }}|{{ v|e }}"), {"v": value}, None)

    html = render.render_job(job).html

    assert html == "|".join([str(escape(value))] * 3)


def test_plain_bodies_never_load_jinja2() -> None:
    """Cold start: Jinja2 is imported by the first template, not by importing the module."""
    code = (
        "import sys; from maildispatch.core.request import parse_send_request; from maildispatch.core.render import render_content;"
        "render_content(parse_send_request(open(sys.argv[1], 'rb').read())); print('jinja2' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "layers" / "maildispatch")}

    result = subprocess.run(
        [sys.executable, "-c", code, str(EVENTS / "partial-reject.json")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )

    assert result.stdout.strip() == "False"
