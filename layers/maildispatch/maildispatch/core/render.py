"""Rendering: a send request (and, for a stored template, its fetched source) to subject and bodies.

Templates come from producers, so they run in Jinja2's immutable sandbox: attribute escapes
and data mutation are refused, and every failure is a RenderError naming the template field.
A missing variable is an error, never an empty string in a customer's mail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from maildispatch.core.request import (
    MAX_HEADER_VALUE_CHARS,
    UNSAFE_HEADER_TEXT,
    InlineTemplate,
    SendRequest,
    StoredTemplateRef,
)

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.sandbox import ImmutableSandboxedEnvironment

# Output beyond this is a runaway template (a loop over range()), not a message.
MAX_RENDERED_CHARS = 2 * 1024 * 1024
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")  # a string literal's "\ud800" escape makes one


@dataclass(frozen=True)
class TemplateSource:
    subject: str | None
    text: str | None
    html: str | None


@dataclass(frozen=True)
class RenderedContent:
    subject: str
    text: str | None
    html: str | None


class RenderError(ValueError):
    """A template could not be rendered. `field` is "template.html", "template.subject", ..."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


MAX_POWER_BITS = 100_000  # a ** result larger than this is a denial of service, not a number in a mail


@lru_cache(maxsize=2)
def _environment(html: bool) -> ImmutableSandboxedEnvironment:
    # Jinja2 is imported on the first template, not at cold start: plain bodies never need it.
    from jinja2 import StrictUndefined
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class BoundedSandbox(ImmutableSandboxedEnvironment):
        """Also bounds what a single expression may build. The output cap below only sees finished
        chunks: `{{ 'x' * 10**9 }}` or `{{ 9 ** 10**7 }}` would exhaust a function's memory or
        time before it saw a character."""

        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context, operator, left, right):  # type: ignore[no-untyped-def]
            if operator == "*":
                for sequence, times in ((left, right), (right, left)):
                    if (
                        isinstance(sequence, (str, bytes, list, tuple))
                        and isinstance(times, int)
                        and len(sequence) * times > MAX_RENDERED_CHARS
                    ):
                        raise SecurityError(
                            f"'*' would build {len(sequence) * times} items, more than {MAX_RENDERED_CHARS}"
                        )
            if (
                operator == "**"
                and isinstance(left, int)
                and isinstance(right, int)
                and right > 0
                and abs(left).bit_length() * right > MAX_POWER_BITS
            ):
                raise SecurityError(f"'**' would build a number of about {abs(left).bit_length() * right} bits")
            return super().call_binop(context, operator, left, right)

    return BoundedSandbox(undefined=StrictUndefined, autoescape=html, keep_trailing_newline=True, auto_reload=False)


@lru_cache(maxsize=128)
def _compile(source: str, html: bool) -> Template:
    """Compiling dominates rendering, and a batch renders the same few templates many times."""
    return _environment(html).from_string(source)


def render_content(request: SendRequest, template: TemplateSource | None = None) -> RenderedContent:
    """Subject and bodies for `request`. `template` is the fetched source of a stored template, and only that."""
    if request.template is None:
        if template is not None:
            raise ValueError("a template source was given for a request with bodies")
        if request.subject is None:
            raise ValueError("a request with bodies has a subject (parse_send_request guarantees it)")
        return RenderedContent(subject=request.subject, text=request.text, html=request.html)
    if isinstance(request.template, StoredTemplateRef):
        if template is None:
            raise ValueError(f"the stored template {request.template.key!r} must be fetched and passed in")
        source = template
    else:
        if template is not None:
            raise ValueError("a template source was given for a request with an inline template")
        source = _source_of(request.template)
    for name in ("subject", "text", "html"):
        # A stored template is whatever JSON was in the bucket: check it is text.
        if not isinstance(getattr(source, name), (str, type(None))):
            raise RenderError(f"template.{name}", f"must be text, not {type(getattr(source, name)).__name__}")
    if source.text is None and source.html is None:
        raise RenderError("template", "the template has neither text nor html")
    variables = dict(request.variables)
    return RenderedContent(
        subject=request.subject if request.subject is not None else _render_subject(source.subject, variables),
        text=None if source.text is None else _render("template.text", source.text, variables, html=False),
        html=None if source.html is None else _render("template.html", source.html, variables, html=True),
    )


def _source_of(template: InlineTemplate) -> TemplateSource:
    return TemplateSource(subject=template.subject, text=template.text, html=template.html)


def _render_subject(source: str | None, variables: dict[str, object]) -> str:
    if source is None:
        raise RenderError("template.subject", "the template has no subject and the request gives none")
    subject = _render("template.subject", source, variables, html=False).strip()
    unsafe = UNSAFE_HEADER_TEXT.search(subject)
    if unsafe is not None:
        raise RenderError(
            "template.subject", f"the rendered subject contains {unsafe.group()!r}: a subject is one line"
        )
    if len(subject) > MAX_HEADER_VALUE_CHARS:
        raise RenderError(
            "template.subject", f"the rendered subject is {len(subject)} characters; at most {MAX_HEADER_VALUE_CHARS}"
        )
    return subject


def _render(field: str, source: str, variables: dict[str, object], *, html: bool) -> str:
    from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError

    try:
        compiled = _compile(source, html)
    except TemplateSyntaxError as error:
        raise RenderError(field, f"syntax error on line {error.lineno}: {error.message}") from None
    chunks: list[str] = []
    size = 0
    try:
        # generate() rather than render(): a runaway template is stopped before it fills memory.
        for chunk in compiled.generate(variables):
            size += len(chunk)
            if size > MAX_RENDERED_CHARS:
                raise RenderError(field, f"renders to more than {MAX_RENDERED_CHARS} characters")
            chunks.append(chunk)
    except RenderError:
        raise
    except SecurityError as error:
        raise RenderError(field, f"refused by the sandbox{_at_line(error)}: {error}") from None
    except UndefinedError as error:
        raise RenderError(field, f"undefined variable{_at_line(error)}: {error}") from None
    except Exception as error:  # the template's own expressions: 1/0, "a" + 1, range(10**9)
        raise RenderError(field, f"{type(error).__name__}{_at_line(error)}: {error}") from None
    rendered = "".join(chunks)
    if _SURROGATE_RE.search(rendered):
        raise RenderError(field, "renders an unpaired UTF-16 surrogate, which is not text")
    return rendered


def _at_line(error: BaseException) -> str:
    """Where in the template it failed: Jinja rewrites tracebacks to point at template lines."""
    line = None
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return "" if line is None else f" on line {line}"
