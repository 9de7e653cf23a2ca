"""Patient forms: templates per clinic, forms sent by a signed expiring link, drawn signatures, staff review."""
