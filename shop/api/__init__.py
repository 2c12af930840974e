"""The REST API core every collection uses: Payload CMS's REST dialect over the shop's models."""
