/**
 * Node flags the deployable worker starts with (docker-compose.yml, `npm start`, the benches' worker
 * process): a V8 old-generation budget. Measured at L (README, "Memory"): the worker's live heap
 * never passed ~120 MB during a full sync (sampled right after forced collections), while its RSS
 * reached 480–580 MB — garbage V8 had not collected yet, because with the default budget (a quarter of
 * the machine's memory, ~4 GB here) it lets the old generation grow ~4× past the live set between
 * full collections. Rows wait in write batches and pages in read-ahead queues long enough to be
 * promoted, so nearly everything the worker reads ends as old-generation garbage. 384 MB is three
 * times the measured live set; 256 MB held RSS near 300 MB but cost the worker ~4 CPU-seconds more
 * of collections in an L full sync (a run bound by CPU on two cores).
 */
export const SYNC_WORKER_HEAP_MB = 384;
export const SYNC_WORKER_NODE_FLAGS = [`--max-old-space-size=${SYNC_WORKER_HEAP_MB}`];
