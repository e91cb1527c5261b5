import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JsMsg,
} from '@nats-io/jetstream';
import type { z } from 'zod';
import {
  AccessRequestUpdated,
  AccessReviewUpdated,
  BrowserSessionEnded,
  ProvisioningRequested,
  ProvisioningTaskUpdated,
  SyncRequested,
  SyncRunUpdated,
} from './contracts';
import { busNames, type BusNames } from './subjects';

export interface BusOptions {
  url: string;
  namespace?: string;
  /** How long JetStream waits for an ack before redelivering to another replica. */
  ackWaitMs?: number;
  name?: string;
}

export interface ConsumeContext {
  /** 1 on first delivery; higher when NATS redelivered (a worker crashed or gave up). */
  deliveryCount: number;
  /** Tells JetStream the message is still being worked on (resets its ack timer). */
  working(): void;
}

export interface ConsumeOptions {
  /** Messages processed at once by this process. */
  concurrency?: number;
  signal?: AbortSignal;
  /** Delay before a failed message is redelivered. */
  retryDelayMs?: number;
  onError?: (err: unknown, subject: string) => void;
}

type Handler<T> = (msg: T, ctx: ConsumeContext) => Promise<void>;

/**
 * The message bus: JetStream work queues for commands (each message handled by exactly one worker
 * replica, redelivered if that worker dies) and core NATS for events (fan-out to every gateway).
 */
export class Bus {
  readonly names: BusNames;
  private readonly js: JetStreamClient;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();
  /** False between a 'disconnect' and the next 'reconnect': isClosed() stays false while reconnecting. */
  private connected = true;

  private constructor(
    readonly nc: NatsConnection,
    names: BusNames,
    private readonly ackWaitMs: number,
  ) {
    this.names = names;
    this.js = jetstream(nc);
    void this.watchStatus();
  }

  /**
   * Tracks whether the server is reachable, and after every reconnect creates the streams and
   * consumers again: a NATS server that came back without its data directory has none, and every
   * publish and pull would fail until some replica restarted.
   */
  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') this.connected = false;
      else if (s.type === 'reconnect') {
        this.connected = true;
        // Not awaited: while it waits on JetStream, a disconnect must still be seen at once (readiness).
        // Overlapping runs after quick reconnects are safe (every step tolerates "already exists").
        void this.ensureTopology().catch(() => undefined);
      }
    }
  }

  static async connect(opts: BusOptions): Promise<Bus> {
    const nc = await connect({ servers: opts.url, name: opts.name ?? 'warden', maxReconnectAttempts: -1 });
    const bus = new Bus(nc, busNames(opts.namespace), opts.ackWaitMs ?? 30_000);
    await bus.ensureTopology();
    return bus;
  }

  /** Creates streams and durable consumers if missing; safe to call from every replica at once. */
  private async ensureTopology(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    const n = this.names;
    for (const [stream, subject, durable] of [
      [n.syncStream, n.syncSubject, n.syncConsumer],
      [n.provisionStream, n.provisionSubject, n.provisionConsumer],
    ] as const) {
      await ignoreAlreadyExists(() =>
        jsm.streams.add({
          name: stream,
          subjects: [subject],
          retention: RetentionPolicy.Workqueue,
          storage: StorageType.File,
          // Same msgID within this window is stored once: a publisher retrying after a timeout
          // cannot enqueue the same command twice.
          duplicate_window: nanos(120_000),
        }),
      );
      const config = {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subject: subject,
        ack_wait: nanos(this.ackWaitMs),
        max_deliver: -1,
        max_ack_pending: 1000,
      };
      try {
        await jsm.consumers.add(stream, config);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        await jsm.consumers.update(stream, durable, { ack_wait: config.ack_wait });
      }
    }
  }

  async publishSyncRequested(msg: SyncRequested): Promise<void> {
    await this.js.publish(this.names.syncSubject, this.encode(SyncRequested, msg), { msgID: `sync:${msg.runId}` });
  }

  async publishProvisioningRequested(msg: ProvisioningRequested, dedupeId = msg.taskId): Promise<void> {
    await this.js.publish(this.names.provisionSubject, this.encode(ProvisioningRequested, msg), {
      msgID: `provision:${dedupeId}`,
    });
  }

  publishSyncRunUpdated(msg: SyncRunUpdated): void {
    this.nc.publish(this.names.syncRunEvents(msg.connectorId), this.encode(SyncRunUpdated, msg));
  }

  publishProvisioningTaskUpdated(msg: ProvisioningTaskUpdated): void {
    this.nc.publish(this.names.provisioningTaskEvents(msg.taskId), this.encode(ProvisioningTaskUpdated, msg));
  }

  publishBrowserSessionEnded(msg: BrowserSessionEnded): void {
    this.nc.publish(this.names.browserSessionEnded, this.encode(BrowserSessionEnded, msg));
  }

  subscribeBrowserSessionEnded(onEvent: (e: BrowserSessionEnded) => void): () => void {
    return this.subscribe(this.names.browserSessionEnded, BrowserSessionEnded, onEvent);
  }

  publishAccessReviewUpdated(msg: AccessReviewUpdated): void {
    this.nc.publish(this.names.accessReviewEvents(msg.reviewId), this.encode(AccessReviewUpdated, msg));
  }

  subscribeAccessReviewUpdated(reviewId: string | '*', onEvent: (e: AccessReviewUpdated) => void): () => void {
    return this.subscribe(this.names.accessReviewEvents(reviewId), AccessReviewUpdated, onEvent);
  }

  publishAccessRequestUpdated(msg: AccessRequestUpdated): void {
    this.nc.publish(this.names.accessRequestEvents(msg.requestId), this.encode(AccessRequestUpdated, msg));
  }

  subscribeAccessRequestUpdated(requestId: string | '*', onEvent: (e: AccessRequestUpdated) => void): () => void {
    return this.subscribe(this.names.accessRequestEvents(requestId), AccessRequestUpdated, onEvent);
  }

  /** Live events for one connector's sync runs (or '*' for all). */
  subscribeSyncRunUpdated(connectorId: string | '*', onEvent: (e: SyncRunUpdated) => void): () => void {
    return this.subscribe(this.names.syncRunEvents(connectorId), SyncRunUpdated, onEvent);
  }

  subscribeProvisioningTaskUpdated(taskId: string | '*', onEvent: (e: ProvisioningTaskUpdated) => void): () => void {
    return this.subscribe(this.names.provisioningTaskEvents(taskId), ProvisioningTaskUpdated, onEvent);
  }

  consumeSyncRequested(handler: Handler<SyncRequested>, opts?: ConsumeOptions): Promise<void> {
    return this.consume(this.names.syncStream, this.names.syncConsumer, SyncRequested, handler, opts);
  }

  consumeProvisioningRequested(handler: Handler<ProvisioningRequested>, opts?: ConsumeOptions): Promise<void> {
    return this.consume(this.names.provisionStream, this.names.provisionConsumer, ProvisioningRequested, handler, opts);
  }

  /** True while the NATS connection is up (not while it is reconnecting); used by readiness probes. */
  isConnected(): boolean {
    return this.connected && !this.nc.isClosed();
  }

  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }

  /** Removes this namespace's streams (tests only: every run uses its own namespace). */
  async destroyTopology(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    for (const s of [this.names.syncStream, this.names.provisionStream]) {
      await jsm.streams.delete(s).catch(() => undefined);
    }
  }

  private subscribe<T>(subject: string, schema: z.ZodType<T>, onEvent: (e: T) => void): () => void {
    const sub = this.nc.subscribe(subject);
    void (async () => {
      for await (const m of sub) {
        const parsed = schema.safeParse(safeJson(this.decoder.decode(m.data)));
        if (parsed.success) onEvent(parsed.data);
      }
    })();
    return () => sub.unsubscribe();
  }

  /**
   * Pulls from a durable work-queue consumer until `signal` aborts. A handler that throws gets its
   * message redelivered after `retryDelayMs`; a message that does not match its contract is
   * terminated (retrying would never make it valid).
   */
  private async consume<T>(
    stream: string,
    durable: string,
    schema: z.ZodType<T>,
    handler: Handler<T>,
    opts: ConsumeOptions = {},
  ): Promise<void> {
    const concurrency = Math.max(1, opts.concurrency ?? 4);
    const consumer = await this.js.consumers.get(stream, durable);
    const messages = await consumer.consume({ max_messages: concurrency });
    const inFlight = new Set<Promise<void>>();
    const stop = () => void messages.close();
    opts.signal?.addEventListener('abort', stop, { once: true });
    // Aborted while the consumer was being set up: the listener above will never fire.
    if (opts.signal?.aborted) stop();
    try {
      for await (const m of messages) {
        const job = this.handle(m, schema, handler, opts).finally(() => inFlight.delete(job));
        inFlight.add(job);
        while (inFlight.size >= concurrency) await Promise.race(inFlight);
        if (opts.signal?.aborted) break;
      }
    } finally {
      opts.signal?.removeEventListener('abort', stop);
      await Promise.allSettled(inFlight);
    }
  }

  private async handle<T>(m: JsMsg, schema: z.ZodType<T>, handler: Handler<T>, opts: ConsumeOptions): Promise<void> {
    const parsed = schema.safeParse(safeJson(this.decoder.decode(m.data)));
    if (!parsed.success) {
      m.term(`invalid message: ${parsed.error.message.slice(0, 200)}`);
      opts.onError?.(parsed.error, m.subject);
      return;
    }
    try {
      await handler(parsed.data, { deliveryCount: m.info.deliveryCount, working: () => m.working() });
      m.ack();
    } catch (err) {
      opts.onError?.(err, m.subject);
      m.nak(opts.retryDelayMs ?? 1_000);
    }
  }

  private encode<T>(schema: z.ZodType<T>, msg: T): Uint8Array {
    return this.encoder.encode(JSON.stringify(schema.parse(msg)));
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isAlreadyExists(err: unknown): boolean {
  return err instanceof JetStreamApiError && /already (exists|in use)/i.test(err.message);
}

async function ignoreAlreadyExists(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
}
