/** A UUID as PostgreSQL's uuid type stores it (source ids, claim ids, subscription ids). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
