export * from './database';
export { BIGRAM_LIMIT, TRIGRAM_LIMIT, gramOfTerm, gramsLiteral, searchGrams, searchGramsLiteral } from './search-grams';
export { createDb, migrateToLatest, pgPoolOf, type DbOptions } from './db';
export { CHANGE_CHANNEL, CONNECTOR_COLUMN, SERVED_TABLES, parseChangePayload, type ChangeNotice, type ServedTable } from './change-channel';
