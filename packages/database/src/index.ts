export * from './database';
export { createDb, migrateToLatest, type DbOptions } from './db';
export { CHANGE_CHANNEL, SERVED_TABLES } from './change-channel';
