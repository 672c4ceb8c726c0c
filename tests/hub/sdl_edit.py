"""SDL with fields taken out, as a site of a minor version that lacks them serves it (hub tests)."""

from __future__ import annotations

from graphql import DocumentNode, ObjectTypeDefinitionNode, parse, print_ast


def without(sdl: str, type_name: str, field_name: str) -> str:
    """`sdl` with the field `field_name` of `type_name` taken out (as a site that lacks it serves it)."""
    document = parse(sdl)
    definitions = []
    for d in document.definitions:
        if isinstance(d, ObjectTypeDefinitionNode) and d.name.value == type_name:
            fields = tuple(f for f in d.fields if f.name.value != field_name)
            assert len(fields) == len(d.fields) - 1, (type_name, field_name)
            d = ObjectTypeDefinitionNode(
                name=d.name,
                description=d.description,
                interfaces=d.interfaces,
                directives=d.directives,
                fields=fields,
            )
        definitions.append(d)
    return print_ast(DocumentNode(definitions=tuple(definitions)))
