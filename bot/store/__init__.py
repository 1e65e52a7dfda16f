"""All of postbot's SQL, one module per group of tables.

Every function is a keyword-only verb over a Session (`get_post(session, *, post_id=...)`) and
returns plain frozen dataclasses or values, never live ORM rows, so nothing outside the store
can lazy-load or change a row by accident. Transactions belong to the caller (the services).
"""
