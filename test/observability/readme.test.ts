/**
 * The "Observability" page (docs/observability.md) against the code, both ways: every metric of the
 * registry is in the metrics table with its type and labels (and nothing else is), and every
 * field the log observers write is in the log-field table (and every documented field is
 * written by some line).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findRepoRoot } from '../docs/repo-root.js';
import { cellText, section, tableWithHeader } from '../docs/markdown.js';
import { Metrics } from '../../server/observability/metrics.js';
import { SecurityLog } from '../../server/observability/security-log.js';
import { connectionLogger, methodLogObserver, type ObservedSession } from '../../server/observability/logs.js';
import { HealthChecks } from '../../server/observability/health.js';
import type { ObservedCall } from '../../server/calls/dispatcher.js';
import type { Caller } from '../../server/calls/caller.js';
import type { Logger } from '../../server/runtime/logger.js';
import { DdpError } from '../../protocol/errors.js';

const readme = readFileSync(join(findRepoRoot(import.meta.url), 'docs', 'observability.md'), 'utf8');
const observability = section(readme, 'Observability');

/** The code spans of a cell: `` `a`, `b` `` → ['a', 'b']. */
function spans(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
}

describe('docs: Observability', () => {
  it('documents every metric with its type and labels, and nothing else', () => {
    const metrics = new Metrics({ stats: () => ({ sockets: 0, sessions: 0, methodsInFlight: 0, queuedMessages: 0, subscriptions: 0, documents: 0, timers: 0 }), traffic: { messagesIn: 0, messagesOut: 0 }, passwordQueueLength: () => 0 });
    const inCode = new Map(metrics.registry.getMetricsAsArray().map((m) => {
      const labels = ((m as unknown as { labelNames?: string[] }).labelNames ?? []).slice().sort();
      return [m.name, `${m.type} [${labels.join(', ')}]`] as const;
    }));
    const table = tableWithHeader(observability, ['metric', 'type', 'labels', 'meaning']);
    const inDocs = new Map(table.rows.map((row) => [cellText(row[0]!), `${row[1]!.trim()} [${spans(row[2]!).sort().join(', ')}]`] as const));
    expect(Object.fromEntries(inDocs)).to.deep.equal(Object.fromEntries(inCode));
    expect(table.rows.filter((row) => (row[3] ?? '').trim() === ''), 'rows without a meaning').to.deep.equal([]);
  });

  it('documents every field the log lines write, and each documented field is written', async () => {
    const written = new Set<string>();
    const capture = (_fields: Record<string, unknown>): void => {
      for (const key of Object.keys(_fields)) written.add(key);
    };
    const logger: Logger = { debug: capture, info: capture, warn: capture, error: capture };
    const connection = { id: 'c1', clientAddress: '127.0.0.1', httpHeaders: { 'user-agent': 'test' }, onClose: () => undefined, close: () => undefined };
    const caller = { transport: 'ddp', connection, userId: 'u1', login: null, setUser: async () => undefined } as Caller;
    const call = (over: Partial<ObservedCall> = {}): ObservedCall => ({ name: 'm', registered: true, caller, nested: false, userIdAtStart: null, userIdAtEnd: null, ...over });
    const observer = methodLogObserver(logger);
    observer.finished(call(), false, undefined, 1);
    observer.finished(call({ nested: true }), true, new DdpError('totp-required', 'TOTP Required'), 1);
    observer.finished(call({ caller: { ...caller, transport: 'internal', connection: null } }), true, new Error('boom'), 1);
    const connections = connectionLogger(logger);
    connections.opened(caller as ObservedSession);
    connections.closed(caller as ObservedSession);
    await new HealthChecks({ isShuttingDown: () => true, services: () => null, checkMail: false, logger }).ready();
    // Security events: the first line of a kind, then the summary at close.
    const security = new SecurityLog(logger);
    const wrong = new DdpError('totp-invalid', 'TOTP Invalid');
    security.observer().finished(call(), true, wrong, 1);
    security.observer().finished(call(), true, wrong, 1);
    security.close();

    const table = tableWithHeader(observability, ['field', 'in', 'meaning']);
    const documented = new Set(table.rows.flatMap((row) => spans(row[0]!)));
    const base = ['level', 'time', 'pid', 'hostname', 'msg'];
    for (const field of base) expect(observability.lines.join('\n'), `base field ${field}`).to.include(`\`${field}\``);
    // `err` (message and stack) is the shared errorFields() shape, described under errorType.
    expect([...written].filter((f) => !documented.has(f) && f !== 'err'), 'fields written but not documented').to.deep.equal([]);
    expect([...documented].filter((f) => !written.has(f)), 'fields documented but never written').to.deep.equal([]);
  });
});
