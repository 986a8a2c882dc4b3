import { createInbox, headers, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { inboxPrefixOf } from '@vigil/service-kit';

/** JetStream's answer to a publish: where it stored the message, or that it already had its msg id. */
export interface PubAck {
  stream: string;
  seq: number;
  duplicate: boolean;
}

/** A publish JetStream did not acknowledge: no ack in time, no stream for the subject, or a refusal. */
export class StreamPublishError extends Error {
  override name = 'StreamPublishError';
  constructor(
    message: string,
    readonly kind: 'timeout' | 'no_stream' | 'rejected' | 'failed' | 'closed',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface StreamPublishDeps {
  /** Acks come on an inbox under the connection's own prefix, the one its user may subscribe to. */
  nc: NatsConnection;
  /** How long to wait for each ack before failing the publish. */
  timeoutMs: number;
  now?: () => number;
}

interface Pending {
  subject: string;
  deadline: number;
  resolve: (ack: PubAck) => void;
  reject: (err: Error) => void;
}

/**
 * JetStream publishes whose acks come back on one subscription. nats.js's `js.publish` is a request: per message
 * it starts a timer, registers a reply and builds an Error up front, and in a 10,000-bar minute those cost more than
 * the sending does. Here every reply goes to `<inbox>.<n>` under one wildcard subscription, and one timer, armed
 * for the oldest publish (all share a timeout, so the oldest expires first), fails those whose ack is late.
 */
export class StreamPublisher {
  private readonly pending = new Map<string, Pending>();
  private readonly replyBase: string;
  private readonly sub: Subscription;
  private readonly now: () => number;
  private next = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closedWith: Error | null = null;

  constructor(private readonly deps: StreamPublishDeps) {
    this.now = deps.now ?? Date.now;
    this.replyBase = `${createInbox(inboxPrefixOf(deps.nc))}.`;
    this.sub = deps.nc.subscribe(`${this.replyBase}*`, {
      callback: (err, msg) => {
        if (!err) return this.answered(msg);
        // A denied subscription (nats.js closes it): no ack will ever come, so this and every later publish fail
        // now, saying why, instead of each timing out.
        const reason = `JetStream acks cannot arrive at ${this.replyBase}*: ${err.message}; check this user's NATS permissions`;
        this.closedWith = new StreamPublishError(reason, 'failed', { cause: err });
        this.failInFlight(this.closedWith);
      },
    });
  }

  /** Publishes are out, unanswered. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Publish `data` to `subject` with `msgId` as its dedup id; resolves with the stream's ack. */
  publish(subject: string, data: Uint8Array, msgId: string): Promise<PubAck> {
    return new Promise((resolve, reject) => {
      if (this.closedWith) return reject(this.closedWith);
      const token = (this.next++).toString(36);
      const h = headers();
      h.set('Nats-Msg-Id', msgId);
      try {
        this.deps.nc.publish(subject, data, { reply: this.replyBase + token, headers: h });
      } catch (cause) {
        const reason = cause instanceof Error ? cause.message : String(cause);
        return reject(new StreamPublishError(`could not publish to ${subject}: ${reason}`, 'failed', { cause }));
      }
      this.pending.set(token, { subject, deadline: this.now() + this.deps.timeoutMs, resolve, reject });
      this.timer ??= setTimeout(() => this.expire(), this.deps.timeoutMs);
    });
  }

  /** Fail every publish awaiting its ack with `err` (say, the connection they went out on was replaced). */
  failInFlight(err: Error): void {
    const failed = [...this.pending.values()];
    this.pending.clear();
    for (const p of failed) p.reject(err);
  }

  /** Stop listening for acks; what is still awaited fails, and so do later publishes, at once. */
  close(): void {
    const reason = new StreamPublishError('the bar stream publisher is closed (the gateway is stopping)', 'closed');
    this.closedWith = reason;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.sub.unsubscribe();
    this.failInFlight(reason);
  }

  private answered(msg: Msg): void {
    const token = msg.subject.slice(this.replyBase.length);
    const p = this.pending.get(token);
    if (!p) return; // late: already timed out or failed, and retried under the same msg id
    this.pending.delete(token);
    const outcome = readAck(msg, p.subject);
    if (outcome instanceof Error) p.reject(outcome);
    else p.resolve(outcome);
  }

  /** Fails every publish past its deadline, then waits for the oldest left. */
  private expire(): void {
    this.timer = null;
    const now = this.now();
    for (const [token, p] of this.pending) {
      if (p.deadline > now) {
        this.timer = setTimeout(() => this.expire(), p.deadline - now);
        return;
      }
      this.pending.delete(token);
      p.reject(
        new StreamPublishError(
          `JetStream did not acknowledge a publish to ${p.subject} within ${this.deps.timeoutMs} ms`,
          'timeout',
        ),
      );
    }
  }
}

const utf8 = new TextDecoder();

/** The ack JetStream sent for a publish to `subject`, or why it is not one. */
export function readAck(msg: Pick<Msg, 'data' | 'headers'>, subject: string): PubAck | StreamPublishError {
  if (msg.headers?.code === 503)
    return new StreamPublishError(
      `no JetStream stream takes ${subject}: check that JetStream is enabled and the stream exists`,
      'no_stream',
    );
  let body: unknown;
  try {
    body = JSON.parse(utf8.decode(msg.data));
  } catch (cause) {
    return new StreamPublishError(`JetStream answered a publish to ${subject} with something not JSON`, 'rejected', {
      cause,
    });
  }
  const ack = (body ?? {}) as { stream?: unknown; seq?: unknown; duplicate?: unknown; error?: unknown };
  if (ack.error !== undefined) {
    const { code, err_code, description } = ack.error as { code?: number; err_code?: number; description?: string };
    return new StreamPublishError(
      `JetStream refused a publish to ${subject}: ${description ?? 'no reason given'} (${code ?? '?'}/${err_code ?? '?'})`,
      'rejected',
    );
  }
  if (typeof ack.stream !== 'string' || ack.stream === '' || typeof ack.seq !== 'number')
    return new StreamPublishError(`JetStream answered a publish to ${subject} with no stream or sequence`, 'rejected');
  return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate === true };
}
