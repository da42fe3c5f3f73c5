"""Rendering: a send request (and, for a stored template, its fetched source) to subject and bodies.

Templates come from producers, so they run in Jinja2's immutable sandbox: attribute escapes
and data mutation are refused, and every failure is a RenderError naming the template field.
A missing variable is an error, never an empty string in a customer's mail.

The sandbox also refuses the cheap ways to ask for minutes of CPU or gigabytes of memory
(huge ranges, repeats, paddings and format widths, lipsum and wordwrap abuse) with a named
error. That is a fast path, not the guarantee: a service renders untrusted templates through
a TemplateRenderer that runs `render_job` in a separate process with a CPU and memory budget.
Error messages name the field, line and kind of failure; quoted text that is not in the
template itself (a variable's value) is left out, so a secret never reaches logs or reports.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import TYPE_CHECKING, Any

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


@dataclass(frozen=True)
class TemplateSource:
    """The Jinja2 source of a template's parts, as stored or given inline."""

    subject: str | None
    text: str | None
    html: str | None


@dataclass(frozen=True)
class RenderedContent:
    """A template's parts after rendering with the request's variables."""

    subject: str
    text: str | None
    html: str | None


class RenderError(ValueError):
    """A template could not be rendered. `field` is "template.html", "template.subject", ..."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class RenderJob:
    """What rendering a template needs, and only that: it crosses a process boundary (pickled)."""

    source: TemplateSource
    variables: dict[str, Any]
    subject: str | None  # the request's own subject, which wins over the template's


MAX_POWER_BITS = 100_000  # a ** result larger than this is a denial of service, not a number in a mail
MAX_RANGE_ITEMS = 100_000  # all range() calls of one message together: nested loops multiply
MAX_WIDTH = 100_000  # a padding, indent or format width; a line of a mail is far shorter
MAX_LIPSUM_PARAGRAPHS = 100
MAX_LIPSUM_WORDS = 1_000
MAX_WORDWRAP_INPUT = 100_000  # textwrap is quadratic in long words
MIN_WORDWRAP_WIDTH = 5
_PADDING_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})
_FORMAT_WIDTH_RE = re.compile(r"\d{7,}")  # any number of 7+ digits in a format spec is a width of millions
_PERCENT_SPEC_RE = re.compile(r"%[^a-zA-Z%]*(?:\d{7,}|\*)")  # %1000000000d, %.1000000000f, %*d
_NESTED_SPEC_RE = re.compile(r"\{[^{}]*:[^{}]*\{")  # '{:{w}}': a width given as an argument

_range_left: ContextVar[list[int]] = ContextVar("_range_left")


def _refuse(message: str) -> BaseException:
    from jinja2.exceptions import SecurityError

    return SecurityError(message)


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    left = _range_left.get([MAX_RANGE_ITEMS])
    left[0] -= len(numbers)
    if left[0] < 0:
        raise _refuse(f"the template's ranges would count more than {MAX_RANGE_ITEMS} items in all")
    return numbers


def _check_width(what: str, width: object) -> None:
    if isinstance(width, int) and abs(width) > MAX_WIDTH:
        raise _refuse(f"{what} width {width} is over {MAX_WIDTH}")


def _check_percent_format(text: str) -> None:
    if _PERCENT_SPEC_RE.search(text):
        raise _refuse(f"a %-format width or precision over {MAX_WIDTH}, or given by an argument, is refused")


def _bounded_filter(name: str, function: Callable[..., Any], check: Callable[..., None]) -> Callable[..., Any]:
    @wraps(function)  # keeps jinja's pass_environment/pass_eval_context marks
    def bounded(*args: Any, **kwargs: Any) -> Any:
        check(*args, **kwargs)
        return function(*args, **kwargs)

    return bounded


def _filter_checks() -> dict[str, Callable[..., None]]:
    def value_and_width(position: int, keyword: str, name: str) -> Callable[..., None]:
        def check(*args: Any, **kwargs: Any) -> None:
            width = kwargs.get(keyword, args[position] if len(args) > position else None)
            _check_width(f"|{name}", width)

        return check

    def wordwrap(*args: Any, **kwargs: Any) -> None:
        # do_wordwrap(environment, s, width=79, ...)
        text = args[1] if len(args) > 1 else ""
        width = kwargs.get("width", args[2] if len(args) > 2 else 79)
        if isinstance(text, str) and len(text) > MAX_WORDWRAP_INPUT:
            raise _refuse(f"|wordwrap of {len(text)} characters; at most {MAX_WORDWRAP_INPUT}")
        if isinstance(width, int) and width < MIN_WORDWRAP_WIDTH:
            raise _refuse(f"|wordwrap width {width}; at least {MIN_WORDWRAP_WIDTH}")

    def format_(*args: Any, **kwargs: Any) -> None:
        if args and isinstance(args[0], str):
            _check_percent_format(args[0])

    return {
        "center": value_and_width(1, "width", "center"),
        "indent": value_and_width(1, "width", "indent"),
        "batch": value_and_width(1, "linecount", "batch"),
        "slice": value_and_width(2, "slices", "slice"),  # (context, value, slices, ...)
        "truncate": value_and_width(2, "length", "truncate"),  # (environment, s, length, ...)
        "wordwrap": wordwrap,
        "format": format_,
    }


def _bounded_lipsum(lipsum: Callable[..., str]) -> Callable[..., str]:
    def bounded(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
        if not isinstance(n, int) or not 0 <= n <= MAX_LIPSUM_PARAGRAPHS:
            raise _refuse(f"lipsum(n={n!r}): at most {MAX_LIPSUM_PARAGRAPHS} paragraphs")
        for value in (min, max):
            if not isinstance(value, int) or not 0 < value <= MAX_LIPSUM_WORDS:
                raise _refuse(f"lipsum words per paragraph {value!r}: between 1 and {MAX_LIPSUM_WORDS}")
        return lipsum(n=n, html=html, min=min, max=max)

    return bounded


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

        intercepted_binops = frozenset({"*", "**", "%"})

        def call_binop(self, context, operator, left, right):  # type: ignore[no-untyped-def]
            if operator == "%" and isinstance(left, str):
                _check_percent_format(left)
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

        def getattr(self, obj, attribute):  # type: ignore[no-untyped-def]
            # `item.qty` on a JSON object. A dict has no instance attributes, so for a name its type
            # lacks, getattr() can only raise AttributeError and the sandbox then takes obj[name]:
            # take it at once, without raising and catching an exception per lookup.
            if type(obj) is dict and isinstance(attribute, str) and attribute not in _DICT_ATTRIBUTES:
                try:
                    return obj[attribute]
                except LookupError:
                    return self.undefined(obj=obj, name=attribute)
            return super().getattr(obj, attribute)

        def call(__self, __context, __obj, *args, **kwargs):  # type: ignore[no-untyped-def]
            owner = getattr(__obj, "__self__", None)
            name = getattr(__obj, "__name__", None)
            if isinstance(owner, str) and name in _PADDING_METHODS:
                for width in (*args, *kwargs.values()):
                    _check_width(f"str.{name}", width)
            wrapped = getattr(__obj, "__wrapped__", None)  # the sandbox's wrapper of str.format
            fmt = getattr(wrapped, "__self__", None)
            if isinstance(fmt, str) and getattr(wrapped, "__name__", None) in ("format", "format_map"):
                if _FORMAT_WIDTH_RE.search(fmt):
                    raise _refuse(f"a str.format width or precision over {MAX_WIDTH} is refused")
                if _NESTED_SPEC_RE.search(fmt):
                    values = [*args, *kwargs.values()]
                    if values and isinstance(values[0], dict):
                        values += list(values[0].values())
                    for width in values:
                        _check_width("a str.format argument used as a", width)
            return super().call(__context, __obj, *args, **kwargs)

    environment = BoundedSandbox(
        undefined=StrictUndefined, autoescape=html, keep_trailing_newline=True, auto_reload=False
    )
    environment.globals["range"] = _bounded_range
    environment.globals["lipsum"] = _bounded_lipsum(environment.globals["lipsum"])  # type: ignore[arg-type]
    for name, check in _filter_checks().items():
        environment.filters[name] = _bounded_filter(name, environment.filters[name], check)
    return environment


_DICT_ATTRIBUTES = frozenset(dir(dict))  # all that getattr() can find on a plain dict


@lru_cache(maxsize=128)
def _compile(source: str, html: bool) -> Template:
    """Compiling dominates rendering, and a batch renders the same few templates many times."""
    compiled = _environment(html).from_string(source)
    # A template's globals are a ChainMap over the environment's, which every render copies into its
    # context (and iterates twice to do so). The environment's never change once built: one plain dict.
    compiled.globals = dict(compiled.globals)
    # The template's code escapes each `{{ }}` of an HTML body with markupsafe.escape, found in its own
    # module namespace: give it the same escape without Markup.__new__'s checks for text and numbers.
    namespace = compiled.root_render_func.__globals__
    escape, original = _html_escape()
    if escape is not original and namespace.get("escape") is original:
        namespace["escape"] = escape
    return compiled


@lru_cache(maxsize=1)
def _html_escape() -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """(markupsafe.escape for str, int and float made in one step, markupsafe.escape).

    escape() of those types (none has __html__) is Markup(_escape_inner(str(value))), and Markup's
    constructor then asks the text for __html__ again before str.__new__: the same Markup, in one step.
    A MarkupSafe without _escape_inner (before 3.0) keeps its own escape."""
    import markupsafe

    escape_inner = getattr(markupsafe, "_escape_inner", None)
    if escape_inner is None:
        return markupsafe.escape, markupsafe.escape
    markup, new_str = markupsafe.Markup, str.__new__

    def escape(value: Any, /) -> Any:
        kind = type(value)
        if kind is str:
            return new_str(markup, escape_inner(value))
        if kind is int or kind is float:
            return new_str(markup, escape_inner(str(value)))
        return markupsafe.escape(value)

    return escape, markupsafe.escape


def render_content(request: SendRequest, template: TemplateSource | None = None) -> RenderedContent:
    """Subject and bodies for `request`. `template` is the fetched source of a stored template, and only that.

    In this process, without a CPU or memory budget: for trusted templates, tests and benchmarks.
    What `render_job(prepare_render(...))` gives, without making the job (it is for another process)."""
    source = _source_to_render(request, template)
    if isinstance(source, RenderedContent):
        return source
    return _rendered(source, dict(request.variables), request.subject)


def prepare_render(request: SendRequest, template: TemplateSource | None = None) -> RenderedContent | RenderJob:
    """The content itself when the request has bodies, else the job of rendering its template."""
    source = _source_to_render(request, template)
    if isinstance(source, RenderedContent):
        return source
    if isinstance(source, InlineTemplate):
        source = _source_of(source)
    return RenderJob(source=source, variables=dict(request.variables), subject=request.subject)


def _source_to_render(
    request: SendRequest, template: TemplateSource | None
) -> RenderedContent | TemplateSource | InlineTemplate:
    """The content itself when the request has bodies, else the template source to render, checked."""
    source: TemplateSource | InlineTemplate
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
        source = request.template  # the same three parts a TemplateSource has
    for name in ("subject", "text", "html"):
        # A stored template is whatever JSON was in the bucket: check it is text.
        if not isinstance(getattr(source, name), (str, type(None))):
            raise RenderError(f"template.{name}", f"must be text, not {type(getattr(source, name)).__name__}")
    if source.text is None and source.html is None:
        raise RenderError("template", "the template has neither text nor html")
    return source


def render_job(job: RenderJob) -> RenderedContent:
    """Renders a template job; every failure of the template is a RenderError. MemoryError passes
    through: what the budget is, and that it was exceeded, is the caller's to say."""
    return _rendered(job.source, job.variables, job.subject)


def _rendered(
    source: TemplateSource | InlineTemplate, variables: dict[str, object], subject: str | None
) -> RenderedContent:
    token = _range_left.set([MAX_RANGE_ITEMS])  # the range() budget, for this message's templates together
    try:
        return RenderedContent(
            subject=subject if subject is not None else _render_subject(source.subject, variables),
            text=None if source.text is None else _render("template.text", source.text, variables, html=False),
            html=None if source.html is None else _render("template.html", source.html, variables, html=True),
        )
    finally:
        _range_left.reset(token)


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
    try:
        compiled = _compile(source, html)
    except MemoryError:
        raise
    except Exception as error:
        raise _compile_failure(field, source, error) from None
    chunks: list[str] = []
    size = 0
    try:
        # Chunk by chunk rather than render(), so a runaway template is stopped before it fills memory;
        # what Template.generate() does, without its generator around every chunk.
        try:
            for chunk in compiled.root_render_func(compiled.new_context(variables)):
                size += len(chunk)
                if size > MAX_RENDERED_CHARS:
                    break
                chunks.append(chunk)
        except Exception:
            compiled.environment.handle_exception()  # re-raises it with a traceback of template lines
        if size > MAX_RENDERED_CHARS:
            raise RenderError(field, f"renders to more than {MAX_RENDERED_CHARS} characters")
    except (RenderError, MemoryError):
        raise
    except Exception as error:
        raise _render_failure(field, source, error) from None
    rendered = "".join(chunks)
    if not rendered.isascii():
        # A string literal's "\\ud800" escape makes a lone surrogate, the one code point UTF-8 cannot encode:
        # encoding is a scan in C, several times faster than a regex over the text.
        try:
            rendered.encode("utf-8")
        except UnicodeEncodeError:
            raise RenderError(field, "renders an unpaired UTF-16 surrogate, which is not text") from None
    return rendered


def _compile_failure(field: str, source: str, error: Exception) -> RenderError:
    """What a template that does not compile becomes. Jinja2's exceptions are imported here, on the way
    out, not on every render."""
    from jinja2.exceptions import TemplateSyntaxError

    if isinstance(error, TemplateSyntaxError):
        message = _without_values(error.message or "", source)
        return RenderError(field, f"syntax error on line {error.lineno}: {message}")
    # constant folding runs expressions at compile time: {{ 1[0] and 1 }}
    message = _without_values(str(error), source)
    return RenderError(field, f"cannot compile: {type(error).__name__}: {message}")


def _render_failure(field: str, source: str, error: Exception) -> RenderError:
    """What a template that fails while rendering becomes, by kind of failure."""
    from jinja2.exceptions import SecurityError, UndefinedError

    if isinstance(error, SecurityError):
        message = _without_values(str(error), source)
        return RenderError(field, f"refused by the sandbox{_at_line(error)}: {message}")
    if isinstance(error, UndefinedError):
        message = _without_values(str(error), source)
        return RenderError(field, f"undefined variable{_at_line(error)}: {message}")
    if isinstance(error, RecursionError):  # a recursive macro
        return RenderError(field, f"recursion too deep{_at_line(error)}")
    # the template's own expressions: 1/0, "a" + 1, int("x")
    message = _without_values(str(error), source)
    return RenderError(field, f"{type(error).__name__}{_at_line(error)}: {message}")


_QUOTED_RE = re.compile(r"'([^'\n]*)'|\"([^\"\n]*)\"")
_TYPE_TEXT_RE = re.compile(
    r"[\w.]+ object|int|float|str|bool|bytes|list|tuple|dict|set|NoneType|None|Undefined|Markup|range|function"
)
MAX_ERROR_CHARS = 300


def _without_values(message: str, source: str) -> str:
    """An error message without the values it quotes: `'dict object' has no attribute 'RESET-TOKEN-123'`
    (a key from a variable) must not reach logs and reports. Quoted text that is in the template
    (a name, a literal) or a type name is kept; the rest becomes '…'."""

    def quoted(match: re.Match[str]) -> str:
        text = match.group(1) if match.group(1) is not None else match.group(2)
        if _TYPE_TEXT_RE.fullmatch(text) or (text and text in source):
            return match.group(0)
        if message.startswith(" object", match.end()) and text.isidentifier():  # "of 'type' object"
            return match.group(0)
        return "'…'"

    message = _QUOTED_RE.sub(quoted, message)
    return message if len(message) <= MAX_ERROR_CHARS else message[:MAX_ERROR_CHARS] + "…"


def _at_line(error: BaseException) -> str:
    """Where in the template it failed: Jinja rewrites tracebacks to point at template lines."""
    line = None
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return "" if line is None else f" on line {line}"
