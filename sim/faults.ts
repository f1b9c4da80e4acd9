import { ApiError, codeForStatus, isPlainObject, UNAUTHORIZED_BODY, type SimResponse } from './http';
import { SteveError } from './steve/schema';

/** What a test asks for at `POST /__sim/faults` (design.md, "The simulator"). */
export interface FaultSpec {
  /** HTTP method to match; any when absent. */
  method?: string;
  /** Regular expression over the request path (no query string); every path when absent. */
  path?: string;
  /** Answer with a Rancher error of this status instead of applying the request. */
  status?: number;
  /** Overrides the error `code` / `message` that `status` produces. */
  code?: string;
  message?: string;
  /** How many requests it applies to; unlimited (until cleared) when absent. */
  times?: number;
  /** Wait this long before handling (or failing) the request. */
  delayMs?: number;
  /** Apply the request, then cut the connection without an answer. */
  dropResponse?: boolean;
}

export interface Fault extends FaultSpec {
  id: string;
  /** Requests it may still affect; null = unlimited. */
  remaining: number | null;
  hits: number;
}

export interface CallRecord {
  method: string;
  path: string;
  /** The query string without `?`, when the request had one (a page, a filter, an action). */
  query?: string;
  status: number;
  at: string;
  dropped?: true;
}

export class FaultSpecError extends Error {}

export class FaultRegistry {
  private faults: Array<{ fault: Fault; pattern: RegExp }> = [];
  private nextId = 1;

  add(input: unknown): Fault {
    const spec = validateSpec(input);
    const fault: Fault = { id: `fault-${this.nextId++}`, ...spec, remaining: spec.times ?? null, hits: 0 };
    this.faults.push({ fault, pattern: new RegExp(spec.path ?? '') });
    return fault;
  }

  list(): Fault[] {
    return this.faults.map((entry) => entry.fault);
  }

  clear(): void {
    this.faults = [];
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((entry) => entry.fault.id !== id);
    return this.faults.length !== before;
  }

  /** The first fault matching the request, used up by one; exhausted faults disappear. */
  take(method: string, path: string): Fault | undefined {
    const index = this.faults.findIndex(
      ({ fault, pattern }) =>
        (fault.method === undefined || fault.method.toUpperCase() === method.toUpperCase()) &&
        pattern.test(path),
    );
    if (index < 0) return undefined;
    const { fault } = this.faults[index];
    fault.hits++;
    if (fault.remaining !== null) {
      fault.remaining--;
      if (fault.remaining === 0) this.faults.splice(index, 1);
    }
    return { ...fault };
  }
}

/**
 * The error a status fault answers with: the shape a real server uses for that status (§2.6), and
 * on steve `/v1` paths steve's envelope (§9.1).
 */
export function faultResponse(fault: Fault, path = ''): SimResponse {
  const status = fault.status ?? 500;
  if (status === 401 && fault.code === undefined && fault.message === undefined) {
    return { status, body: UNAUTHORIZED_BODY };
  }
  const message = fault.message ?? 'simulated fault';
  if (path === '/v1' || path.startsWith('/v1/')) {
    return {
      status,
      body: new SteveError(status, fault.code ?? steveCodeForStatus(status), message).toBody(),
    };
  }
  return { status, body: new ApiError(status, fault.code ?? codeForStatus(status), message).toBody() };
}

/** The Kubernetes reason steve puts in `code` for a status (`apimachinery` `StatusReason`). */
function steveCodeForStatus(status: number): string {
  switch (status) {
    case 422:
      return 'Invalid';
    case 405:
      return 'MethodNotAllowed';
    case 503:
      return 'ServiceUnavailable';
    case 504:
      return 'Timeout';
    default:
      return codeForStatus(status);
  }
}

function validateSpec(input: unknown): FaultSpec {
  if (!isPlainObject(input)) throw new FaultSpecError('fault must be a JSON object');
  const spec: FaultSpec = {};
  const { method, path, status, code, message, times, delayMs, dropResponse } = input;
  if (method !== undefined) {
    if (typeof method !== 'string' || method === '') throw new FaultSpecError('method must be a string');
    spec.method = method.toUpperCase();
  }
  if (path !== undefined) {
    if (typeof path !== 'string') throw new FaultSpecError('path must be a regular expression string');
    try {
      new RegExp(path);
    } catch (error) {
      throw new FaultSpecError(`path is not a valid regular expression: ${(error as Error).message}`);
    }
    spec.path = path;
  }
  if (status !== undefined) {
    if (!Number.isInteger(status) || (status as number) < 100 || (status as number) > 599) {
      throw new FaultSpecError('status must be an HTTP status code');
    }
    spec.status = status as number;
  }
  if (code !== undefined) {
    if (typeof code !== 'string') throw new FaultSpecError('code must be a string');
    spec.code = code;
  }
  if (message !== undefined) {
    if (typeof message !== 'string') throw new FaultSpecError('message must be a string');
    spec.message = message;
  }
  if (times !== undefined) {
    if (!Number.isInteger(times) || (times as number) < 1)
      throw new FaultSpecError('times must be an integer >= 1');
    spec.times = times as number;
  }
  if (delayMs !== undefined) {
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
      throw new FaultSpecError('delayMs must be a number >= 0');
    }
    spec.delayMs = delayMs;
  }
  if (dropResponse !== undefined) {
    if (typeof dropResponse !== 'boolean') throw new FaultSpecError('dropResponse must be a boolean');
    spec.dropResponse = dropResponse;
  }
  if (spec.status === undefined && spec.delayMs === undefined && spec.dropResponse !== true) {
    throw new FaultSpecError('a fault needs at least one of status, delayMs or dropResponse');
  }
  return spec;
}

/** The request log tests assert on; bounded so a long benchmark cannot exhaust memory. */
export class CallLog {
  private calls: CallRecord[] = [];

  constructor(private readonly max = 200_000) {}

  record(call: CallRecord): void {
    this.calls.push(call);
    // Trim in chunks so recording stays O(1) amortized.
    if (this.calls.length > this.max + Math.ceil(this.max / 10))
      this.calls.splice(0, this.calls.length - this.max);
  }

  list(): CallRecord[] {
    return this.calls.length > this.max ? this.calls.slice(-this.max) : [...this.calls];
  }

  clear(): void {
    this.calls = [];
  }
}
