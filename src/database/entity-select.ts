import { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';

const selects = new WeakMap<object, string>();

/**
 * `SELECT <every column AS its property> FROM <table>` of an entity, for plain
 * SQL whose rows stand in for the entity (where TypeORM's query builder costs
 * too much, or a pipelined transaction needs SQL): read off TypeORM's metadata
 * once, so a column added to the entity is never left out. Values come as the
 * driver gives them, as with TypeORM (bigint as a string, timestamptz as a Date);
 * the rows are plain objects, not instances of the entity.
 */
export function entitySelect(dataSource: DataSource, entity: EntityTarget<ObjectLiteral>): string {
  const key = entity as object;
  let select = selects.get(key);
  if (select === undefined) {
    const metadata = dataSource.getMetadata(entity);
    const columns = metadata.columns.map((c) => `"${c.databaseName}" AS "${c.propertyName}"`);
    select = `SELECT ${columns.join(', ')} FROM "${metadata.tableName}"`;
    selects.set(key, select);
  }
  return select;
}
