"""A Go ``text/template`` subset: what Corefiles write in *template* answers, unchanged.

CoreDNS renders each *template* record with Go's ``text/template``; users copy those
templates between servers, so the syntax must mean here exactly what it means there. This is
a small, strict implementation of the part of the language such one-line templates use::

    {{ .Name }} 60 IN A {{ .Group.a }}.{{ index .Match 2 }}
    {{ if eq .Type "AAAA" }}...{{ else }}...{{ end }}
    {{- printf "%s-%03d" .Zone (parseInt .Group.n 10 32) -}}

Supported: text and actions with ``{{-``/``-}}`` trimming and ``{{/* comments */}}``;
pipelines with ``|``; fields and chains (``.A.B``, ``$x.A``, ``(pipe).A``); methods with
arguments (``.Meta "label"``); variables (``$``, ``{{ $x := ... }}``, ``$x = ...``); string
(interpreted and raw), character, number, boolean and ``nil`` constants; ``if``/``else if``/
``else``/``end``, ``with``/``else with``, ``range`` (lists, maps in key order, integers,
``$i, $e :=``, ``else``); the functions ``and or not len index slice print printf println
eq ne lt le gt ge`` and any given by the caller (CoreDNS adds ``parseInt``).

Anything else (``define``, ``template``, ``block``, ``break``, ``continue``, ``html``, ``js``,
``urlquery``, ``call``, an undefined function or variable, a ``printf`` verb outside the
subset) is a :class:`TemplateSyntaxError` when the template is parsed, never a different
rendering. Where Go would print an error marker into the output (``printf`` given too few
arguments or a mismatched verb), this raises :class:`TemplateExecError` instead.
"""

from twisted_dns.pkg.gotemplate.funcs import BUILTINS, Funcs, parse_uint, sprintf
from twisted_dns.pkg.gotemplate.template import Template
from twisted_dns.pkg.gotemplate.values import (
    NO_VALUE,
    GoObject,
    TemplateExecError,
    TemplateSyntaxError,
    go_quote,
    to_text,
    truth,
)

__all__ = [
    "BUILTINS",
    "NO_VALUE",
    "Funcs",
    "GoObject",
    "Template",
    "TemplateExecError",
    "TemplateSyntaxError",
    "go_quote",
    "parse_uint",
    "sprintf",
    "to_text",
    "truth",
]
