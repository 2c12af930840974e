"""OpenAPI 3 schema: every collection's documents, parameters and bodies ."""

from drf_spectacular.openapi import AutoSchema


class CollectionSchema(AutoSchema):
    pass


def add_collection_components(result, generator, request, public):
    return result
