/**
 * Adapts a push subscription (NATS events via the Bus) to the async iterator graphql-ws consumes.
 * The source is unsubscribed when the client stops (return()), and a slow client can hold at most
 * `maxBuffered` events: older ones are dropped, since every event makes the resolver re-read the
 * current row anyway.
 */
export function eventStream<T>(subscribe: (push: (event: T) => void) => () => void, maxBuffered = 256): AsyncIterableIterator<T> {
  const buffer: T[] = [];
  let waiting: ((r: IteratorResult<T>) => void) | null = null;
  let done = false;
  const unsubscribe = subscribe((event) => {
    if (done) return;
    if (waiting) {
      const w = waiting;
      waiting = null;
      w({ value: event, done: false });
      return;
    }
    buffer.push(event);
    if (buffer.length > maxBuffered) buffer.shift();
  });
  const finish = (): Promise<IteratorResult<T>> => {
    if (!done) {
      done = true;
      unsubscribe();
      waiting?.({ value: undefined, done: true });
      waiting = null;
    }
    return Promise.resolve({ value: undefined, done: true });
  };
  return {
    next() {
      if (buffer.length) return Promise.resolve({ value: buffer.shift() as T, done: false });
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => (waiting = resolve));
    },
    return: finish,
    throw(err?: unknown) {
      void finish();
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
