import 'reflect-metadata';
import { join } from 'node:path';
import { loadConfig } from './src/config/app.config';
import { createDataSource } from './src/database/data-source';

/**
 * The data source for the TypeORM CLI (npm run migration:*), built from the
 * same configuration as the application: DATABASE_URL, or the embedded
 * database in DATA_DIR — the server of the bridge running there, or, when none
 * runs, one started for the command and stopped when it ends. Runs compiled,
 * from dist/.
 */
export default (async () => {
  const { config } = loadConfig();
  return createDataSource(
    config.databaseUrl,
    config.dataDir,
    { entities: [join(__dirname, 'src', '**', '*.entity.js')] },
    { mode: 'shared' },
  );
})();
