"""All settings, read once from the environment (prefix ``AGENTSTREAM_``, nested with ``__``).

Examples::

    AGENTSTREAM_KAFKA__BOOTSTRAP_SERVERS=broker1:9092,broker2:9092
    AGENTSTREAM_KAFKA__SECURITY_PROTOCOL=SASL_SSL
    AGENTSTREAM_KAFKA__SASL_PASSWORD=...
    AGENTSTREAM_REDIS__URL=redis://127.0.0.1:6379/0

A ``.env`` file in the working directory is read when present. No other module reads
``os.environ``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024


class KafkaSettings(BaseModel):
    """Where the cluster is and how to authenticate to it."""

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    client_id: str = "agentstream"
    # Consumer group: how soon a silent worker (kill -9, lost host) loses its partitions.
    session_timeout: float = Field(default=10.0, ge=6.0)
    heartbeat_interval: float = Field(default=1.0, gt=0)
    # How long the group waits for members to rejoin in a rebalance (Kafka's
    # rebalance.timeout.ms). One event's worst case (timeout x attempts + backoffs) must
    # fit in it; agents that cannot are refused when declared.
    rebalance_timeout: float = Field(default=120.0, gt=0)
    # Producer: every record acknowledged by all in-sync replicas, no duplicates on retry.
    linger_ms: int = Field(default=5, ge=0)
    max_batch_bytes: int = Field(default=1 * MiB, gt=0)
    compression: Literal["none", "gzip", "snappy", "lz4", "zstd"] = "none"
    # How long the producer keeps trying to deliver a record (aiokafka's request timeout,
    # which is also its batch expiry). A broker outage shorter than this costs a pause;
    # past it, the events whose results expired become dead letters (measured: a broker
    # stopped for 52 s under load cost 0 dead letters at 120 s, 8,475 at 40 s). Records to
    # a topic deleted meanwhile (a client's private reply topic) fail at once instead.
    request_timeout: float = Field(default=120.0, gt=0)
    # Exactly-once apps: how long the broker lets one of their transactions stay open
    # before aborting it; at most the broker's transaction.max.timeout.ms (15 min by
    # default). A transaction spans the sending of handled events' outputs and offsets,
    # never a handler call, so handler time does not count against it.
    transaction_timeout: float = Field(default=300.0, gt=0)
    # What consumers read (workers, Client, the CLI): ``read_committed`` hides records of
    # aborted transactions and holds back those of open ones. Records written without a
    # transaction read the same either way. Exactly-once apps always read committed.
    isolation_level: Literal["read_committed", "read_uncommitted"] = "read_committed"
    # How long a record to a topic the broker does not know waits for the topic to appear
    # before it fails (results to it become dead letters; ``Client.send`` raises).
    unknown_topic_wait: float = Field(default=5.0, gt=0)

    @property
    def bootstrap_list(self) -> list[str]:
        return [s.strip() for s in self.bootstrap_servers.split(",") if s.strip()]


class RedisSettings(BaseModel):
    """Redis: idempotency keys, keyed state (``ctx.state``) and the cache's L2."""

    url: str = "redis://127.0.0.1:6379/0"
    password: SecretStr | None = None


class BatchDefaults(BaseModel):
    """Window and flow policy used when an agent does not name its own."""

    max_size: int = Field(default=100, ge=1)
    within: float = Field(default=1.0, gt=0)
    eager: bool = True
    # Handler calls in flight at once, per agent (across windows and partitions).
    concurrency: int = Field(default=32, ge=1)
    # Records taken and not yet committed, per agent: past it the agent takes no more
    # and its partitions are paused. It bounds memory, and how far events of other keys
    # may run ahead of a slow one in the same partition.
    backlog: int = Field(default=10_000, ge=1)


class RetryDefaults(BaseModel):
    """In-place retries with exponential backoff and equal jitter (``streams.Retry``)."""

    attempts: int = Field(default=3, ge=1)
    backoff: float = Field(default=0.2, ge=0)
    max_backoff: float = Field(default=5.0, ge=0)
    # A dependency that fails transiently is retried this long before the event
    # becomes a dead letter.
    outage: float = Field(default=60.0, ge=0)


class Limits(BaseModel):
    """Guards against bad input and stuck handlers."""

    max_message_bytes: int = Field(default=1 * MiB, gt=0)
    max_json_depth: int = Field(default=64, ge=1)
    handler_timeout: float = Field(default=30.0, gt=0)
    idempotency_ttl: float = Field(default=24 * 3600.0, gt=0)
    # On rebalance, how long in-flight events may finish before they are abandoned (not
    # committed; the next owner handles them). The whole group waits meanwhile.
    revoke_timeout: float = Field(default=15.0, gt=0)
    # On SIGTERM or a fatal error, how long the worker may drain before it gives up on
    # what is in flight and exits (Kubernetes' default grace period is 30 s).
    shutdown_timeout: float = Field(default=25.0, gt=0)


class CacheSettings(BaseModel):
    """The tiered cache (``App.cache``): L1 in process, L2 Redis, L3 a durable store."""

    l1_size: int = Field(default=10_000, ge=0)
    l1_ttl: float = Field(default=60.0, gt=0)
    # Entries in L2 and L3 expire after this long unless a cache names its own ttl.
    ttl: float = Field(default=24 * 3600.0, gt=0)
    # L3: an SQLAlchemy async URL; embedded SQLite by default, a server by URL
    # (e.g. postgresql+asyncpg://...). Empty turns L3 off.
    l3_url: str = "sqlite+aiosqlite:///.agentstream/cache.sqlite3"
    # One computation per key at a time across workers: how long a computing worker
    # holds the key's lock (others wait for its result, then compute themselves).
    lock_timeout: float = Field(default=30.0, gt=0)
    # An L2 (Redis) call slower than this counts as Redis being away: the cache then
    # runs on L1 and L3 and tries Redis again every second.
    l2_timeout: float = Field(default=1.0, gt=0)


class ModelSettings(BaseModel):
    """Which model client agents use: ``offline`` (deterministic, no network) or
    ``openai`` (any OpenAI-compatible chat-completions endpoint)."""

    provider: Literal["offline", "openai"] = "offline"
    base_url: str = "https://api.openai.com/v1"
    model: str = "gpt-4o-mini"
    api_key: SecretStr | None = None
    timeout: float = Field(default=30.0, gt=0)
    # Requests in flight at once per model, per process.
    max_concurrency: int = Field(default=16, ge=1)
    # Retries on 429 and 5xx (honouring Retry-After), then the call fails.
    max_retries: int = Field(default=4, ge=0)
    # Circuit breaker: after this many failures in a row, calls fail fast for reset_after s.
    breaker_failures: int = Field(default=5, ge=1)
    breaker_reset: float = Field(default=30.0, gt=0)


class SupportSettings(BaseModel):
    """The customer-service system (agents/support)."""

    # The knowledge-base agent answers at or above this calibrated score, else escalates.
    answer_confidence: float = Field(default=0.8, ge=0, le=1)
    # The router asks the model when its rules are less sure than this.
    rules_confidence: float = Field(default=0.75, ge=0, le=1)
    # Conversation memory per customer.
    memory_turns: int = Field(default=10, ge=1)
    memory_ttl: float = Field(default=7 * 24 * 3600.0, gt=0)


class ContentSettings(BaseModel):
    """The content-creation system (agents/content): how it waits, judges and remembers."""

    # A specialist writer that has no section after this many seconds hands it to the
    # fallback writer, so the fan-in never waits for a stuck model call.
    section_deadline: float = Field(default=20.0, gt=0)
    # The same bound for planning, reviewing and revising; past it the stage degrades
    # (standard plan, unreviewed or unrevised draft) instead of failing the request.
    call_deadline: float = Field(default=25.0, gt=0)
    # Drafts scoring below this are revised while rounds remain.
    review_threshold: float = Field(default=0.7, ge=0, le=1)
    # How long fan-in state and the markers against duplicates live in Redis.
    state_ttl: float = Field(default=24 * 3600.0, gt=0)
    # Partitions of the topics the app creates.
    partitions: int = Field(default=6, ge=1)

    @property
    def handler_timeout(self) -> float:
        """Every handler finishes within its deadline plus time for Redis and a template;
        the runtime's own timeout only catches what is truly stuck."""
        return max(self.section_deadline, self.call_deadline) + 10.0


class Quota(BaseModel):
    """A rate limit: ``rate`` requests a second sustained, ``burst`` at once (GCRA, kept
    in Redis so that every gateway replica spends from the same quota)."""

    rate: float = Field(gt=0)
    burst: int = Field(ge=1)


class JwtSettings(BaseModel):
    """Customer identity from a website's own sign-in: a signed JWT in
    ``Authorization: Bearer``; the customer id is its ``sub`` claim."""

    # HS256: the shared secret; RS256/EdDSA: the PEM public key (or ``@path`` to a file).
    key: SecretStr | None = None
    algorithms: list[Literal["HS256", "HS384", "HS512", "RS256", "ES256", "EdDSA"]] = ["HS256"]
    audience: str = "agentstream-support"
    issuer: str | None = None
    # Clock skew tolerated on ``exp`` and ``nbf``.
    leeway: float = Field(default=30.0, ge=0)


class GatewaySettings(BaseModel):
    """The HTTP gateway and console (agents/console, docs/console.md)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # Who a customer is: ``anonymous`` (the gateway mints an id bound to a signed cookie)
    # or ``jwt`` (a website's sign-in vouches for it, ``jwt`` below).
    identity: Literal["anonymous", "jwt"] = "anonymous"
    jwt: JwtSettings = JwtSettings()
    # Inquiries: per client address and per customer identity.
    inquiries: Quota = Quota(rate=5.0, burst=20)
    # Console credentials (sign-in, and every bearer-token request): per address, and over
    # all addresses together, so a botnet's guesses are bounded too.
    sign_in: Quota = Quota(rate=1.0, burst=10)
    sign_in_global: Quota = Quota(rate=20.0, burst=100)
    # Request bodies above this get a 413 (an 8,000-character Chinese inquiry is 24 KiB).
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    reply_timeout: float = Field(default=10.0, gt=0)
    # The human-agent pages and the answer endpoint require this token (login form or
    # ``Authorization: Bearer``), at least 32 characters. Unset: those pages refuse
    # everyone. Changing it ends every console session.
    console_token: SecretStr | None = None
    # Signs session cookies and CSRF tokens; unset: a random one per process (sessions
    # then end with the process and do not carry over to other replicas).
    session_secret: SecretStr | None = None
    session_ttl: float = Field(default=8 * 3600.0, gt=0)
    # Mark cookies Secure (sent over HTTPS only): set it whenever the gateway is reached
    # over HTTPS, directly or through a proxy.
    secure_cookies: bool = False
    # Replies kept per customer for the chat page (Redis list): how many, and how long
    # after the last one.
    messages_keep: int = Field(default=100, ge=1)
    messages_ttl: float = Field(default=7 * 24 * 3600.0, gt=0)
    # Open escalations shown per page of the console.
    page_size: int = Field(default=50, ge=1, le=1000)


class TracingSettings(BaseModel):
    """OpenTelemetry spans per handled event and per window (docs/operations.md). When an
    application has set its own tracer provider, spans go there instead."""

    enabled: bool = False
    # OTLP/HTTP traces endpoint, e.g. http://otel-collector:4318/v1/traces; unset: spans
    # are printed to the console (for local use).
    otlp_endpoint: str | None = None
    # Fraction of new traces recorded; events of a recorded trace always are.
    sample_ratio: float = Field(default=1.0, ge=0, le=1)
    # ``service.name`` of the spans; unset: the app id.
    service_name: str | None = None


class LocalSettings(BaseModel):
    """The single-node Kafka, Redis and PostgreSQL that `agentstream up` starts."""

    home: Path = Path(".agentstream")
    kafka_version: str = "4.3.1"
    controller_port: int = 9093
    kafka_heap: str = "1g"
    # The local PostgreSQL (``agentstream postgres up``): a port apart from a system
    # cluster's 5432.
    postgres_port: int = Field(default=55432, ge=1, le=65535)
    start_timeout: float = Field(default=60.0, gt=0)


class AccountsSettings(BaseModel):
    """The account database the support system's account tasks act on (agents/accounts)."""

    # SQLAlchemy async URL: SQLite embedded by default, or PostgreSQL
    # (``postgresql+asyncpg://user:password@host:5432/db``).
    url: str = "sqlite+aiosqlite:///.agentstream/accounts.sqlite3"


class Settings(BaseSettings):
    """The one settings object; build it with ``Settings()``."""

    model_config = SettingsConfigDict(
        env_prefix="AGENTSTREAM_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    kafka: KafkaSettings = KafkaSettings()
    redis: RedisSettings = RedisSettings()
    batch: BatchDefaults = BatchDefaults()
    retry: RetryDefaults = RetryDefaults()
    limits: Limits = Limits()
    local: LocalSettings = LocalSettings()
    cache: CacheSettings = CacheSettings()
    models: ModelSettings = ModelSettings()
    support: SupportSettings = SupportSettings()
    content: ContentSettings = ContentSettings()
    gateway: GatewaySettings = GatewaySettings()
    accounts: AccountsSettings = AccountsSettings()
    tracing: TracingSettings = TracingSettings()
    # A worker's /metrics, /healthz and /readyz; 0 picks a free port (logged at start).
    # ``agentstream worker --workers N`` gives its processes web_port, web_port + 1, ...
    web_port: int = Field(default=6066, ge=0, le=65535)
    # Generation-0 threshold of Python's cyclic GC in workers. The runtime allocates a few
    # short-lived objects per event and keeps a large, long-lived heap (faust, aiokafka),
    # so the default (700) spends much of the time in collections; 0 keeps the default.
    gc_threshold: int = Field(default=50_000, ge=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Delivery of apps that do not choose one (``App(..., guarantee=...)``):
    # ``exactly_once`` commits outputs and input offsets in Kafka transactions
    # (docs/reliability.md); the shipped systems follow this setting.
    guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"
    # ``json``: one JSON object per line, with the agent, event id and trace id of the
    # event being handled (for log shippers); ``text``: one readable line.
    log_format: Literal["text", "json"] = "text"
    # Libraries' loggers (aiokafka, aiohttp, redis, ...: streams.logs.LIBRARIES) stay at
    # WARNING whatever ``log_level`` says: at DEBUG some log the values they send,
    # personal data included. Name those you need at ``log_level``, comma-separated.
    log_libraries: str = ""

    @model_validator(mode="after")
    def _revocation_fits_the_rebalance(self) -> Settings:
        if self.limits.revoke_timeout >= self.kafka.rebalance_timeout:
            raise ValueError(
                f"limits.revoke_timeout ({self.limits.revoke_timeout}s) must be shorter than "
                f"kafka.rebalance_timeout ({self.kafka.rebalance_timeout}s)"
            )
        return self
