export * from './database';
export { BIGRAM_LIMIT, bigramOfTerm, searchBigrams, searchBigramsLiteral } from './search-bigrams';
export { createDb, migrateToLatest, pgPoolOf, type DbOptions } from './db';
export { CHANGE_CHANNEL, CONNECTOR_COLUMN, SERVED_TABLES, parseChangePayload, type ChangeNotice, type ServedTable } from './change-channel';
