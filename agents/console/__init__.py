"""The HTTP gateway and web console of the support system: customers' inquiries in and
replies out (``/``, ``/api/inquiries``), and the human agents' console (``/agent``,
``/kpis``) behind the console token. See docs/console.md."""

from agents.console.app import create_gateway, serve

__all__ = ["create_gateway", "serve"]
