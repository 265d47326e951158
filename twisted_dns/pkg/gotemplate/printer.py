"""Go's ``template.Tree.Root.String()``: a template as Go prints its parse tree back.

Actions are respaced as ``{{.Name}}``, comments and trim markers are gone. CoreDNS labels
metrics with it (the *template* plugin's failures), so the series match CoreDNS's.
"""

from __future__ import annotations

from twisted_dns.pkg.gotemplate.lexer import Token, lex

#: how Go prints the punctuation of a pipeline (an assignment prints as a declaration)
_PUNCT = {"|": " | ", ":=": " := ", "=": " := ", ",": ", "}


def _pipe(tokens: list[Token]) -> str:
    """A pipeline as Go's ``PipeNode.String`` writes it: one space between operands, none
    inside parentheses or a chain (a field glued to what precedes it)."""
    out = []
    glue = True
    for token in tokens:
        if token.kind in ("declare", "punct") and token.text in _PUNCT:
            out.append(_PUNCT[token.text])
            glue = True
            continue
        if not (glue or token.text == ")" or (token.kind == "field" and not token.space_before)):
            out.append(" ")
        out.append(token.text)
        glue = token.text == "("
    return "".join(out)


def root_string(text: str) -> str:
    """Go's ``template.Tree.Root.String()`` for a template that parses (``{{ .Name }}``
    prints as ``{{.Name}}``; ``{{else if x}}`` as ``{{else}}{{if x}}`` closed by an extra
    ``{{end}}``, since that is how Go's parser nests it)."""
    out: list[str] = []
    #: per open branch: how many else-if branches the next {{end}} also closes
    open_branches: list[int] = []
    for item in lex(text):
        if isinstance(item, str):
            out.append(item)
            continue
        word = item[0].text if item[0].kind == "ident" else ""
        if word in ("if", "with", "range"):
            open_branches.append(0)
            out.append(f"{{{{{word} {_pipe(item[1:])}}}}}")
        elif word == "else" and len(item) > 1:
            open_branches[-1] += 1
            out.append(f"{{{{else}}}}{{{{{item[1].text} {_pipe(item[2:])}}}}}")
        elif word == "else":
            out.append("{{else}}")
        elif word == "end":
            out.append("{{end}}" * (1 + open_branches.pop()))
        else:
            out.append(f"{{{{{_pipe(item)}}}}}")
    return "".join(out)
