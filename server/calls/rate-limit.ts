/**
 * Rate limiting as Meteor's `DDPRateLimiter`: rules match calls on type, name, user, connection
 * and client address; each rule counts calls per distinct value of the fields it names, in a
 * fixed window that starts with the first call. A call over the limit gets `too-many-requests`
 * with `details.timeToReset`.
 */

export interface RateLimitInput {
  readonly type: 'method' | 'subscription';
  readonly name: string;
  readonly userId: string | null;
  readonly connectionId: string | null;
  readonly clientAddress: string | null;
}

/** A value to equal, or a predicate. */
export type Matcher<T> = T | ((value: T) => boolean);

export interface RateLimitRule {
  type?: 'method' | 'subscription';
  /** A name, a list of names (a fixed list lets most calls skip the limiter), or a predicate. */
  name?: Matcher<string> | readonly string[];
  userId?: Matcher<string | null>;
  connectionId?: Matcher<string | null>;
  clientAddress?: Matcher<string | null>;
  /** Calls allowed per window. */
  numRequests: number;
  /** Window length in ms. */
  timeIntervalMs: number;
}

/** A rule attached to one method: counted per the listed fields (default: per connection). */
export interface RateLimitSpec {
  numRequests: number;
  timeIntervalMs: number;
  per?: readonly ('connection' | 'user' | 'clientAddress')[];
}

/** Counter storage: in memory by default, Redis when several processes share limits. */
export interface RateLimitCounters {
  /** Count one call for `key`; returns the count in the current window and when it resets (ms). */
  hit(key: string, windowMs: number, now: number): { count: number; resetAt: number } | Promise<{ count: number; resetAt: number }>;
}

/** In-process counters with a periodic sweep of expired windows. */
export class MemoryRateLimitCounters implements RateLimitCounters {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  private lastSweep = 0;

  hit(key: string, windowMs: number, now: number): { count: number; resetAt: number } {
    if (now - this.lastSweep > 60_000) this.sweep(now);
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, w);
    }
    w.count += 1;
    return { count: w.count, resetAt: w.resetAt };
  }

  get size(): number {
    return this.windows.size;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, w] of this.windows) if (w.resetAt <= now) this.windows.delete(key);
  }
}

const FIELDS = ['type', 'name', 'userId', 'connectionId', 'clientAddress'] as const;

function matchField<T>(matcher: Matcher<T> | undefined, value: T): boolean {
  if (matcher === undefined) return true;
  if (typeof matcher === 'function') return (matcher as (v: T) => boolean)(value);
  return matcher === value;
}

export interface RateLimitVerdict {
  allowed: boolean;
  /** ms until the tightest exceeded window resets. */
  timeToReset: number;
}

export class RateLimiter {
  private readonly rules: { id: number; rule: RateLimitRule }[] = [];
  private nextId = 1;
  /** Per type, per name: could any rule match such a call? Cleared when the rules change. */
  private readonly applicable = { method: new Map<string, boolean>(), subscription: new Map<string, boolean>() };

  constructor(private readonly counters: RateLimitCounters = new MemoryRateLimitCounters()) {}

  /** Add a rule; returns its id for {@link removeRule}. */
  addRule(rule: RateLimitRule): number {
    if (!Number.isInteger(rule.numRequests) || rule.numRequests < 0) throw new TypeError('numRequests must be a whole number');
    if (!Number.isInteger(rule.timeIntervalMs) || rule.timeIntervalMs <= 0) throw new TypeError('timeIntervalMs must be a positive whole number');
    const id = this.nextId++;
    this.rules.push({ id, rule });
    this.forgetApplicable();
    return id;
  }

  removeRule(id: number): boolean {
    const i = this.rules.findIndex((r) => r.id === id);
    if (i < 0) return false;
    this.rules.splice(i, 1);
    this.forgetApplicable();
    return true;
  }

  /**
   * False when no rule can match a call of this type and name, whatever its user, connection
   * or address: then there is nothing to count. (Names are those of registered methods and
   * publications, so the memo stays small.)
   */
  mayApply(type: 'method' | 'subscription', name: string): boolean {
    const memo = this.applicable[type];
    let answer = memo.get(name);
    if (answer === undefined) {
      // A predicate may say yes to any name; a name or a list of names is decided here.
      answer = this.rules.some(({ rule }) => (rule.type === undefined || rule.type === type)
        && (typeof rule.name === 'function' || matchName(rule.name, name)));
      memo.set(name, answer);
    }
    return answer;
  }

  private forgetApplicable(): void {
    this.applicable.method.clear();
    this.applicable.subscription.clear();
  }

  /** Count the call against every matching rule. Synchronous when the counters are. */
  check(input: RateLimitInput, now: number): RateLimitVerdict | Promise<RateLimitVerdict> {
    // Most calls match no rule: that path allocates nothing.
    let verdict: RateLimitVerdict = ALLOWED;
    let pending: Promise<void>[] | null = null;
    for (const { id, rule } of this.rules) {
      if (!matches(rule, input)) continue;
      let key = `r${id}`;
      for (const f of FIELDS) if (rule[f] !== undefined) key += `|${f}=${String(input[f])}`;
      const apply = (hit: { count: number; resetAt: number }): void => {
        if (hit.count > rule.numRequests) {
          const timeToReset = Math.max(0, hit.resetAt - now);
          verdict = { allowed: false, timeToReset: Math.max(verdict.allowed ? 0 : verdict.timeToReset, timeToReset) };
        }
      };
      const hit = this.counters.hit(key, rule.timeIntervalMs, now);
      if (hit instanceof Promise) (pending ??= []).push(hit.then(apply));
      else apply(hit);
    }
    if (pending === null) return verdict;
    return Promise.all(pending).then(() => verdict);
  }
}

const ALLOWED: RateLimitVerdict = Object.freeze({ allowed: true, timeToReset: 0 });

function matchName(matcher: RateLimitRule['name'], name: string): boolean {
  return Array.isArray(matcher) ? matcher.includes(name) : matchField(matcher as Matcher<string> | undefined, name);
}

function matches(rule: RateLimitRule, input: RateLimitInput): boolean {
  return matchField(rule.type, input.type) && matchName(rule.name, input.name) && matchField(rule.userId, input.userId)
    && matchField(rule.connectionId, input.connectionId) && matchField(rule.clientAddress, input.clientAddress);
}

/** Turn a per-method spec into a rule. */
export function ruleForMethod(name: string, spec: RateLimitSpec): RateLimitRule {
  const per = spec.per ?? ['connection'];
  const always = (): boolean => true;
  return {
    type: 'method',
    name,
    numRequests: spec.numRequests,
    timeIntervalMs: spec.timeIntervalMs,
    ...(per.includes('connection') ? { connectionId: always } : {}),
    ...(per.includes('user') ? { userId: always } : {}),
    ...(per.includes('clientAddress') ? { clientAddress: always } : {}),
  };
}
