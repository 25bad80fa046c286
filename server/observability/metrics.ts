/**
 * Prometheus metrics on a registry of their own (never prom-client's global one, so several
 * servers in one process, and the application's own metrics, do not collide). Counters move as
 * things happen; gauges of live state are read from the server when scraped.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Registry } from 'prom-client';
import type { TwoFactorMethod } from '../../protocol/two-factor.js';
import type { ServerStats, TrafficCounters } from '../ddp/ddp-server.js';
import type { MethodObserver, ObservedCall } from '../calls/dispatcher.js';
import type { GuardEvent } from '../two-factor/guard.js';
import type { Mailer, MailMessage } from '../mail/mailer.js';
import { outcomeOf, UNKNOWN_METHOD } from './outcome.js';
import { LabelledHistogram, TalliedCounter } from './accumulators.js';

/** What the metrics read from the server when scraped. */
export interface MetricsSource {
  stats(): ServerStats;
  readonly traffic: TrafficCounters;
  /** bcrypt jobs waiting for a worker thread; 0 before the services are open. */
  passwordQueueLength(): number;
}

/** Every metric name starts with this. */
export const METRIC_PREFIX = 'ddp_guard_';

/** Method latency buckets, in seconds: from a cached lookup to a slow bcrypt login. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The guard's event names as the `outcome` label says them. */
const GUARD_OUTCOMES: Readonly<Record<GuardEvent, string>> = Object.freeze({
  required: 'required',
  ok: 'ok',
  invalid: 'invalid',
  locked: 'locked_out',
  replay: 'replay_rejected',
  trusted: 'trusted',
});

const NS_PER_S = 1e9;

/** A counter whose value is a running total kept elsewhere, read when scraped. */
function totalCounter(registry: Registry, name: string, help: string, read: () => number): Counter {
  return new Counter({
    name, help, registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

export class Metrics {
  /** The registry `/metrics` serves; applications may register their own metrics on it. */
  readonly registry = new Registry();
  private readonly sessionsStarted: Counter;
  // Counted on every call: kept in accumulators, read by prom-client when scraped.
  private readonly methodCalls: TalliedCounter;
  private readonly methodDuration: LabelledHistogram;
  private readonly twoFactor: TalliedCounter;
  private readonly rateLimited: TalliedCounter;
  private readonly emails: Counter<'outcome'>;
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  constructor(source: MetricsSource) {
    const registry = this.registry;
    const p = METRIC_PREFIX;
    const gauge = (name: string, help: string, read: (s: ServerStats) => number): Gauge =>
      new Gauge({ name: p + name, help, registers: [registry], collect() { this.set(read(source.stats())); } });

    gauge('connections_open', 'Open WebSocket connections.', (s) => s.sockets);
    gauge('sessions_open', 'DDP sessions that completed the handshake and are still open.', (s) => s.sessions);
    gauge('methods_in_flight', 'DDP method calls queued or running.', (s) => s.methodsInFlight);
    gauge('subscriptions', 'Live subscriptions (named and universal) over all sessions.', (s) => s.subscriptions);
    this.sessionsStarted = new Counter({ name: `${p}sessions_total`, help: 'DDP sessions started (handshakes completed).', registers: [registry] });
    totalCounter(registry, `${p}messages_received_total`, 'DDP messages received.', () => source.traffic.messagesIn);
    totalCounter(registry, `${p}messages_sent_total`, 'DDP messages sent.', () => source.traffic.messagesOut);
    this.methodCalls = new TalliedCounter(registry, `${p}method_calls_total`,
      'Method calls by method, transport (ddp, http, internal) and outcome (ok, the client error code, or internal).',
      ['method', 'transport', 'outcome']);
    this.methodDuration = new LabelledHistogram(registry, `${p}method_duration_seconds`,
      'Time from dispatch to result or error, refusals by hooks included.', 'method', LATENCY_BUCKETS);
    this.twoFactor = new TalliedCounter(registry, `${p}2fa_challenges_total`,
      'Two-factor guard outcomes by factor (totp, email, password; none for a trusted client) and outcome (required, ok, invalid, locked_out, replay_rejected, trusted).',
      ['factor', 'outcome']);
    this.emails = new Counter({ name: `${p}emails_total`, help: 'Mail handed to the transport, by outcome (sent, failed).', labelNames: ['outcome'] as const, registers: [registry] });
    this.emails.inc({ outcome: 'sent' }, 0);
    this.emails.inc({ outcome: 'failed' }, 0);
    this.rateLimited = new TalliedCounter(registry, `${p}rate_limit_rejections_total`,
      'Method calls refused with too-many-requests, by method and transport.', ['method', 'transport']);
    const loop = this.loopDelay;
    new Gauge({
      name: `${p}event_loop_delay_seconds`,
      help: 'Event-loop delay since the previous scrape: mean, max and the p50, p90, p99 percentiles.',
      labelNames: ['stat'] as const,
      registers: [registry],
      collect() {
        if (loop.count === 0) return; // no sample yet: report nothing rather than zeros
        this.set({ stat: 'mean' }, loop.mean / NS_PER_S);
        this.set({ stat: 'max' }, loop.max / NS_PER_S);
        for (const q of [50, 90, 99]) this.set({ stat: `p${q}` }, loop.percentile(q) / NS_PER_S);
        loop.reset();
      },
    });
    new Gauge({
      name: `${p}password_queue_length`,
      help: 'bcrypt jobs waiting for a worker thread.',
      registers: [registry],
      collect() {
        this.set(source.passwordQueueLength());
      },
    });
  }

  /** Start sampling the event loop (at `listen()`). */
  start(): void {
    this.loopDelay.enable();
  }

  /** Stop sampling (at `close()`). */
  stop(): void {
    this.loopDelay.disable();
  }

  /** The text exposition format, and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  sessionStarted(): void {
    this.sessionsStarted.inc();
  }

  /** Counts every dispatched call, its latency, and rate-limit refusals. */
  methodObserver(): MethodObserver {
    const { methodCalls, methodDuration, rateLimited } = this;
    return {
      started(): void {
        // Counted when finished, with the outcome.
      },
      finished(call: ObservedCall, failed: boolean, error: unknown, durationMs: number): void {
        const method = call.registered ? call.name : UNKNOWN_METHOD;
        const transport = call.caller.transport;
        const outcome = outcomeOf(failed, error);
        methodCalls.inc(method, transport, outcome);
        methodDuration.observe(method, durationMs / 1000);
        if (outcome === 'too-many-requests') rateLimited.inc(method, transport);
      },
    };
  }

  /** A `guard.onEvent` listener. */
  guardEvent(event: GuardEvent, factor: TwoFactorMethod | null): void {
    this.twoFactor.inc(factor ?? 'none', GUARD_OUTCOMES[event]);
  }

  /** Wrap a mailer so each message counts as sent or failed. */
  countMail(inner: Mailer): Mailer {
    const emails = this.emails;
    return {
      async send(msg: MailMessage): Promise<void> {
        try {
          await inner.send(msg);
        } catch (err) {
          emails.inc({ outcome: 'failed' });
          throw err;
        }
        emails.inc({ outcome: 'sent' });
      },
      verify: () => inner.verify(),
      close: () => inner.close(),
      describe: () => inner.describe(),
    };
  }
}
