import 'reflect-metadata';
import { join } from 'node:path';
import { loadConfig } from './src/config/app.config';
import { createDataSource } from './src/database/data-source';

/**
 * The data source for the TypeORM CLI (npm run migration:*), built from the
 * same configuration as the application: DATABASE_URL, or the embedded
 * database in DATA_DIR (which the CLI must not open while the bridge runs).
 * Runs compiled, from dist/.
 */
export default (async () => {
  const { config } = loadConfig();
  return createDataSource(config.databaseUrl, config.dataDir, {
    entities: [join(__dirname, 'src', '**', '*.entity.js')],
  });
})();
