export * from './database';
export { createDb, migrateToLatest, pgPoolOf, type DbOptions } from './db';
export { CHANGE_CHANNEL, SERVED_TABLES } from './change-channel';
