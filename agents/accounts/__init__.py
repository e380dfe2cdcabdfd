"""The account service the support system's account tasks act on: a database of
customers, subscriptions, orders, payments, invoices and refunds (SQLite by default,
PostgreSQL by URL; Alembic migrations), and the tasks as typed tools whose effects happen
once per event. See docs/accounts.md."""
