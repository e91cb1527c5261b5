/**
 * `@warden/sync-worker/testing`: the exactness comparison (database vs. the emulator's export), for
 * suites outside this workspace (the chaos suite) without a second definition of "exact".
 */
export { diffDatabase, canonical, type DiffReport, type Difference } from './compare';
export { expectedModel, type ExpectedModel } from './expected';
